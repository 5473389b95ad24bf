"""RMSNorm (docs/kernels/rmsnorm.md) in numpy float32, both forms; BF16 in and out.

KCS_EXAMPLE_BREAK=1 breaks it on purpose: eps is left out, which only the rows whose mean
square is small enough for eps to matter show.
"""
import os

import numpy as np

import kcs

F32 = np.float32


def rmsnorm(x, gamma, eps, **_):
    xf = kcs.bf16_to_float32(x)
    g = kcs.bf16_to_float32(gamma) if gamma.dtype in (np.uint16, kcs.NUMPY_BF16) else np.asarray(gamma, F32)
    e = F32(0) if os.environ.get("KCS_EXAMPLE_BREAK") else F32(eps)
    ms = np.mean(xf.astype(np.float64) ** 2, axis=-1, keepdims=True)   # exact squares, one rounding
    r = F32(1) / np.sqrt(F32(ms) + e, dtype=F32)
    return kcs.float32_to_bf16_bits(g * (xf * r))
