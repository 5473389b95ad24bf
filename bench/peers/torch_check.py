#!/usr/bin/python3
"""Checks that the PyTorch peer computes what kcs computes: runs bench/peers/torch_kernels.py on the
inputs of kcs fixture bundles (`kcs gen`) and prints how far its outputs are from the reference's.

    kcs gen -k indexer_prolog -k mla_prolog -c '*real*' -t ci -o /tmp/fx
    bench/peers/torch_check.py /tmp/fx/*/*real.t=4.*.h5

The peer is not bit-exact (BF16 rounding points differ), so this prints the differences; it fails
(exit 1) only on a gross mismatch: a code off by more than 2 or a value off by more than
5% of the tensor's largest magnitude.
"""
import os
import sys

import h5py
import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_kernels as tk  # noqa: E402


def tensor(ds):
    arr, dtype = ds[()], ds.attrs.get("dtype", "")
    if dtype == "bfloat16":
        return torch.from_numpy(arr.view(np.int16).copy()).view(torch.bfloat16)
    if dtype == "float16":
        return torch.from_numpy(arr.view(np.float16).copy())
    return torch.from_numpy(np.ascontiguousarray(arr))


def compare(name, got, want, is_code):
    g, w = got.float().flatten(), want.float().flatten()
    d = (g - w).abs()
    if is_code:
        line = f"max |diff| {d.max().item():.0f}, {100.0 * (d > 0).float().mean().item():.2f}% differ"
        bad = d.max().item() > 2
    else:
        # Relative to the tensor's largest magnitude: elementwise ratios explode near zero.
        rel = d.max().item() / max(w.abs().max().item(), 1e-30)
        line = f"max |diff| / max |ref| {rel:.2e}, {100.0 * (d > 0).float().mean().item():.1f}% differ"
        bad = rel > 0.05
    print(f"  {name:18} {line}{'  <- gross mismatch' if bad else ''}")
    return bad


def check(path):
    f = h5py.File(path, "r")
    inp = {k: tensor(v) for k, v in f["inputs"].items()}
    after = {k: tensor(f["inout"][k]["after"]) for k in f["inout"]}
    a = dict(inp)
    for k in f["inout"]:
        a[k] = tensor(f["inout"][k]["before"])
    kernel = os.path.basename(os.path.dirname(path))
    print(os.path.basename(path))
    if kernel == "indexer_prolog":
        H, D = inp["w_qb_scale"].shape
        w = dict(inp, H=H, D=D, eps=float(f["inputs"].attrs["eps"]), w_qb=inp["w_qb"].reshape(-1, H * D).to(tk.BF16),
                 w_qb_scale=inp["w_qb_scale"].reshape(-1))
        outs = dict(zip(("q_int8", "q_scale", "weights"), tk.indexer_prolog(a, w)))
    else:
        w = dict(inp, eps=float(f["inputs"].attrs.get("eps_cq", 1e-5)), w_uq_qr=inp["w_uq_qr"].to(tk.BF16),
                 dequant_scale=inp["dequant_scale"].reshape(-1))
        outs = dict(zip(("q_norm_out", "q_norm_scale_out", "query_nope_out", "query_rope_out"), tk.mla_prolog(a, w)))
    bad = False
    for k, v in outs.items():
        bad |= compare(k, v, tensor(f["outputs"][k]), v.dtype == torch.int8)
    for k, v in after.items():
        bad |= compare(k, a[k], v, v.dtype == torch.int8)
    return bad


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    bad = [p for p in sys.argv[1:] if check(p)]
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
