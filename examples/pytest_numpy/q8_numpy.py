"""A Q8 quantizer (docs/kernels/q8.md) in numpy, as a backend author would write it.

KCS_EXAMPLE_BREAK=1 breaks it on purpose: the code of element [0, 0] is off by one, which kcs
must report naming that element.
"""
import os

import numpy as np

import kcs

F32 = np.float32
MIN_AMAX = F32(127) * F32(2.0**-126)


def q8(x, round_mode="rint", amax_floor="none", scale_dtype="float32", **_):
    """x: [rows, n] float32 or BF16 -> (codes int8 [rows, n], scale [rows, 1] in scale_dtype)."""
    x = kcs.bf16_to_float32(x) if x.dtype in (np.uint16, kcs.NUMPY_BF16) else np.asarray(x, F32)
    # amax by |bit pattern| so that NaN beats Inf (the definition for NaN/Inf rows).
    a = (x.view(np.uint32) & 0x7FFFFFFF).max(axis=1, initial=0).view(F32)
    if amax_floor == "1e-4":
        a = np.where(np.isnan(a) | (a >= F32(1e-4)), a, F32(1e-4))
    elif np.any((a > 0) & (a < MIN_AMAX)):
        raise ValueError("x has a row with amax below 127*2^-126 and no amax floor")
    zero = a == 0
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        s_q = F32(127) / np.where(zero, F32(1), a)             # binary32 steps, in the spec's order
        y = (x * s_q[:, None]).astype(np.float64)
        r = np.rint(y) if round_mode == "rint" else np.copysign(np.floor(np.abs(y) + 0.5), y)
        r = np.where(np.isnan(r), 0.0, np.clip(r, -128, 127))
        s_dq = F32(1) / s_q
    codes = r.astype(np.int8)
    codes[zero] = 0
    scale = np.where(zero, F32(0), s_dq).astype(F32).reshape(-1, 1)
    if os.environ.get("KCS_EXAMPLE_BREAK") and codes.size:
        codes[0, 0] = codes[0, 0] + 1 if codes[0, 0] < 127 else 126
    return codes, scale.astype(np.float16) if scale_dtype == "float16" else scale
