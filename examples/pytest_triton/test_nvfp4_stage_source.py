"""The K4 source's own Triton staging kernel (staging_kernel.py) scored by kcs, in-process, over
the nvfp4_stage cases. Outputs are poisoned (0xA5) before the call so unwritten bytes show."""
import pytest

import kcs

# torch and triton are imported in the tests: without a GPU (CI) every test is collected and
# skipped by conftest.py, so the module must import where they are not installed.

# The source kernel implements one mode of the declaration: staging ties (away) and no scale
# saturation. The other modes (kcs's e2m1_ties=even, saturate_scale=1) are not its behaviour.
MODES = {"e2m1_ties": "away", "saturate_scale": "0"}


def poisoned(shape, dtype):
    import torch

    n = torch.empty((), dtype=dtype).element_size()
    numel = 1
    for d in shape:
        numel *= d
    return torch.full((numel * n,), 0xA5, dtype=torch.uint8, device="cuda").view(dtype).view(shape)


def stage(inp, out_dtypes):
    import torch
    from staging_kernel import _stage_deepseek_v4_mega_moe_inputs

    hs, ids, w = inp["hidden_states"], inp["topk_ids"], inp["topk_weights"]
    M, K = hs.shape
    top_k = ids.shape[1]
    out = {"x_fp4": poisoned((M, K // 2), torch.uint8), "x_sf": poisoned((M, K // 64), torch.int32),
           "topk_idx_out": poisoned((M, top_k), torch.int64), "topk_weights_out": poisoned((M, top_k), torch.float32)}
    _stage_deepseek_v4_mega_moe_inputs(hs, w, ids, out["x_fp4"], out["x_sf"], out["topk_idx_out"],
                                       out["topk_weights_out"])
    torch.cuda.synchronize()
    return out


@kcs.cases("nvfp4_stage", tier="ci", backend="triton_k4_source")
def test_nvfp4_stage_source(kcs_case):
    for k, v in MODES.items():
        if kcs_case.attrs[k] != v:
            pytest.skip("%s=%s: not the source kernel's mode (%s=%s)" % (k, kcs_case.attrs[k], k, v))
    kcs_case.check_call(stage, kcs_case.torch_inputs("cuda"), None)
