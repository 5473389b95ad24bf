"""Compiles the source kernel exactly as quoted (re-indented, with its `e2m1_flat[0::2]` strided
slices instead of staging_kernel.py's tl.split) and prints what Triton says. The evidence for the
one change staging_kernel.py makes. Usage: python3 compile_verbatim.py"""
import importlib.util
import pathlib
import sys
import tempfile

import torch

here = pathlib.Path(__file__).resolve().parent
src = (here / "staging_kernel.py").read_text()
new = "    e2m1_lo, e2m1_hi = tl.split(tl.reshape(e2m1_flat, [BLOCK_K // 2, 2]))  # even → low, odd → high nibble\n"
old = ("    e2m1_lo = e2m1_flat[0::2]  # even indices → low nibble\n"
       "    e2m1_hi = e2m1_flat[1::2]  # odd indices → high nibble\n")
assert new in src
d = tempfile.mkdtemp()
p = pathlib.Path(d) / "staging_kernel_verbatim.py"
p.write_text(src.replace(new, old))
spec = importlib.util.spec_from_file_location("staging_kernel_verbatim", p)
m = importlib.util.module_from_spec(spec)
spec.loader.exec_module(m)
M, K, k = 1, 128, 8
args = [torch.zeros(M, K, dtype=torch.bfloat16, device="cuda"), torch.zeros(M, k, device="cuda"),
        torch.zeros(M, k, dtype=torch.int32, device="cuda"), torch.empty(M, K // 2, dtype=torch.uint8, device="cuda"),
        torch.empty(M, K // 64, dtype=torch.int32, device="cuda"), torch.empty(M, k, dtype=torch.int64, device="cuda"),
        torch.empty(M, k, device="cuda")]
try:
    m._stage_deepseek_v4_mega_moe_inputs(*args)
    torch.cuda.synchronize()
    print("verbatim source: compiled and ran on this Triton")
except Exception as e:  # noqa: BLE001 - what Triton says is the point
    msg = str(e).strip().splitlines()
    print("verbatim source does not compile on Triton %s: %s: %s" % (
        __import__("triton").__version__, type(e).__name__, " | ".join(msg[-6:])))
    sys.exit(0)
