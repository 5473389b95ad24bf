"""RMSNorm in numpy against every ci case of kcs, over every tile of the catalog (the tile knob
row_tile is honoured by processing rows in tiles of that size)."""
import numpy as np

import kcs
from rmsnorm_numpy import rmsnorm


@kcs.cases("rmsnorm", tier="ci", tiles="all")
def test_rmsnorm(kcs_case):
    inp = kcs_case.inputs
    x = inp["x"]
    tile = kcs_case.knob("row_tile") or max(1, len(x))  # 0 = all rows in one tile
    eps = float(kcs_case.attrs["eps"])
    y = np.concatenate([rmsnorm(x[i:i + tile], inp["gamma"], eps) for i in range(0, len(x), tile)] or [x])
    kcs_case.check({"y": y})
