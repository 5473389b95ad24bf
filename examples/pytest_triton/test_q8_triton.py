"""A Triton Q8 (q8_triton.py) scored by kcs in-process over the q8 cases, GPU tensors handed to
case.check as they are (kcs copies them to the host through DLPack/torch)."""
import kcs

# torch and triton are imported in the test: without a GPU (CI) every test is collected and
# skipped by conftest.py, so the module must import where they are not installed.


@kcs.cases("q8", tier="ci", backend="triton_q8")
def test_q8_triton(kcs_case):
    import torch
    from q8_triton import q8

    x = kcs_case.torch_inputs("cuda")["x"]

    def call():
        codes, scale = q8(x, **kcs_case.attrs)
        torch.cuda.synchronize()
        return {"codes": codes, "scale": scale}

    kcs_case.check_call(call)
