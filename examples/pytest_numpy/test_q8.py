"""Q8 in numpy against every ci case of kcs (parametrised by @kcs.cases; -k selects cases)."""
import kcs
from q8_numpy import q8


@kcs.cases("q8", tier="ci")
def test_q8(kcs_case):
    def call(x):
        codes, scale = q8(x, **kcs_case.attrs)
        return {"codes": codes, "scale": scale}

    kcs_case.check_call(call, kcs_case.inputs["x"])
