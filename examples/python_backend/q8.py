#!/usr/bin/python3
"""An external Q8 backend written from docs/kernels/q8.md with numpy only.

It never calls kcs: it reads fixture bundles, computes, and writes outputs files that
`kcs check` scores. Usage: q8.py BUNDLE_DIR OUT_DIR  (writes OUT_DIR/<case>.h5 per q8 bundle).
"""
import pathlib
import sys

import h5py
import numpy as np

F32 = np.float32


def bf16_to_f32(bits):
    return (bits.astype(np.uint32) << 16).view(np.float32)


def q8_rows(x, floor, rmode):
    """The binary32 steps of docs/kernels/q8.md, every operation in binary32."""
    # amax by |bit pattern| so that NaN beats Inf (kcs's definition for out-of-contract rows).
    a = (x.view(np.uint32) & 0x7FFFFFFF).max(axis=1, initial=0).view(np.float32)
    if floor:
        a = np.where(np.isnan(a) | (a >= F32(1e-4)), a, F32(1e-4))
    zero = a == 0
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        s_q = F32(127) / np.where(zero, F32(1), a)
        y = x * s_q[:, None]
        yd = y.astype(np.float64)  # exact; the rounding below is done on exact values
        if rmode == "rint":
            r = np.rint(yd)
        else:  # ties away from zero
            r = np.copysign(np.floor(np.abs(yd) + 0.5), yd)
        r = np.where(np.isnan(r), 0.0, np.clip(r, -128, 127))
        s_dq = F32(1) / s_q
    codes = r.astype(np.int8)
    codes[zero] = 0
    s_dq = np.where(zero, F32(0), s_dq).astype(np.float32)
    return codes, s_dq


def run(bundle_path, out_path):
    with h5py.File(bundle_path, "r") as f:
        if f.attrs["kernel"] != "q8":
            return False
        xd = f["inputs/x"]
        x = bf16_to_f32(xd[()]) if xd.attrs["dtype"] == "bfloat16" else xd[()].astype(np.float32)
        codes, s = q8_rows(x.reshape(-1, x.shape[-1]) if x.size else x.reshape(0, x.shape[-1]),
                           f.attrs["amax_floor"] == "1e-4", f.attrs["round_mode"])
        scale_dtype = f["outputs/scale"].attrs["dtype"]
        with h5py.File(out_path, "w") as g:
            g.attrs["kernel"] = "q8"
            g.attrs["case"] = f.attrs["case"]
            d = g.create_dataset("outputs/codes", data=codes)
            d.attrs["dtype"] = "int8"
            scale = s.reshape(-1, 1)
            if scale_dtype == "float16":
                scale = scale.astype(np.float16).view(np.uint16)
            d = g.create_dataset("outputs/scale", data=scale)
            d.attrs["dtype"] = scale_dtype
    return True


def main():
    src, out = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
    out.mkdir(parents=True, exist_ok=True)
    n = 0
    for b in sorted(src.rglob("*.h5")):
        n += run(b, out / b.name)
    print(f"q8.py: wrote {n} outputs files to {out}")
    return 0 if n else 1


if __name__ == "__main__":
    sys.exit(main())
