"""K1 indexer_prolog in torch (CPU) against every ci case of kcs."""
import kcs
from indexer_prolog_torch import indexer_prolog


@kcs.cases("indexer_prolog", tier="ci")
def test_indexer_prolog(kcs_case):
    kcs_case.check_call(indexer_prolog, **kcs_case.torch_inputs(), eps=kcs_case.attrs["eps"])
