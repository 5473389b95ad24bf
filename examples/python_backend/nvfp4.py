#!/usr/bin/python3
"""An external NVFP4 backend written from docs/kernels/nvfp4_stage.md with numpy only.

Kernels: nvfp4_quant (the coder, §6.3) and nvfp4_stage (K4: the coder on hidden_states plus
the top-k copy, §6.2-6.3; used when kcs declares it). It never calls kcs: it reads fixture
bundles, computes, and writes outputs files that `kcs check` scores bit for bit.

Usage: nvfp4.py BUNDLE_DIR OUT_DIR [--flip-nibble]
  writes OUT_DIR/<case>.h5 for every nvfp4_quant / nvfp4_stage bundle under BUNDLE_DIR.
  --flip-nibble  the deliberately wrong backend: flips the lowest bit of the E2M1 code of
                 element [0, 1] (the high nibble of byte 0) in every output with M > 0, which
                 `kcs check` must catch and name.
"""
import pathlib
import sys

import h5py
import numpy as np

F32 = np.float32
U32 = np.uint32


def widen(d):
    """§6.3 step 1: BF16 / FP16 bit patterns or FP32 to binary32, exactly."""
    a, dt = d[()], d.attrs["dtype"]
    if dt == "bfloat16":
        return (a.astype(U32) << 16).view(F32)
    if dt == "float16":
        return a.view(np.float16).astype(F32)
    return a.astype(F32)


def shr(x, s):
    """x >> s on uint32 values as a mathematical shift (s >= 32 gives 0)."""
    return np.where(s >= 32, 0, x.astype(np.uint64) >> np.clip(s, 0, 63).astype(np.uint64)).astype(np.int64)


def e4m3_encode(scale):
    """Step 3: the staging kernel's custom E4M3 encode (exponent clamped, mantissa not saturated)."""
    bits = scale.view(U32).astype(np.int64)
    e = (bits >> 23) & 0xFF
    f = bits & 0x7FFFFF
    er = e - 120
    # normal path: top 3 fraction bits, nearest-even on guard bit 19 and sticky bits 18..0
    m_n = f >> 20
    g_n = (f >> 19) & 1
    s_n = (f & 0x7FFFF) != 0
    # subnormal path: implicit bit inserted, shifted by sh + 20 with sh = 1 - er
    sh = 1 - er
    mw = 0x800000 | f
    m_s = shr(mw, sh + 20) & 7
    g_s = shr(mw, sh + 19) & 1
    s_s = np.where(sh + 19 >= 32, mw, mw & ((1 << np.clip(sh + 19, 0, 62)) - 1)) != 0
    normal = er >= 1
    m = np.where(normal, m_n, m_s)
    guard = np.where(normal, g_n, g_s)
    sticky = np.where(normal, s_n, s_s).astype(np.int64)
    exp = np.where(normal, er, 0)
    m = m + (guard & (sticky | (m & 1)))
    carry = m >= 8
    m = np.where(carry, 0, m)
    exp = np.clip(exp + carry, 0, 15)
    return ((exp << 3) | m).astype(np.uint8)


def _decode_table():
    """Step 4 for all 128 bytes: exp 0 -> mant * 2^-9; else (1 + mant/8) * 2^(exp-7); 0x7F = 480."""
    t = np.zeros(128, dtype=F32)
    for c in range(128):
        exp, mant = c >> 3, c & 7
        if exp == 0:
            t[c] = (F32(mant) / F32(8)) * F32(0.015625)
        else:
            t[c] = (F32(1) + F32(mant) / F32(8)) * F32(2.0 ** (exp - 7))
    return t


DECODE = _decode_table()
THRESH_AWAY = [(F32(t), True) for t in (0.25, 0.75, 1.25, 1.75, 2.5, 3.5, 5.0)]  # |w| >= T
# Ties to even: the midpoints below an odd code (0.25, 1.25, 2.5, 5) round down (|w| > T).
THRESH_EVEN = [(F32(0.25), False), (F32(0.75), True), (F32(1.25), False), (F32(1.75), True),
               (F32(2.5), False), (F32(3.5), True), (F32(5.0), False)]


def nvfp4_code(v, ties, saturate):
    """v [M, K] binary32 -> (x_fp4 [M, K/2] uint8, x_sf [M, K/64] int32). Every step in binary32."""
    m, k = v.shape
    g = v.reshape(m, k // 16, 16)
    amax = (g.view(U32) & 0x7FFFFFFF).max(axis=2).view(F32)  # by |bit pattern|: NaN > Inf > finite
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        amax = np.where(amax < F32(1e-4), F32(1e-4), amax)   # a NaN amax stays NaN
        scale = amax / F32(6)
        if saturate:
            scale = np.where(scale > F32(448), F32(448), scale)
        e = e4m3_encode(scale.astype(F32))
        s_hat = DECODE[e]
        inv = F32(1) / np.where(s_hat < F32(1e-6), F32(1e-6), s_hat)
        w = g * inv[:, :, None]
        c = np.where(w < F32(-6), F32(-6), w)                # clamp keeps NaN
        c = np.where(c > F32(6), F32(6), c)
        a = np.where(c < 0, -c, c)
        idx = np.zeros(c.shape, dtype=np.uint8)
        for t, inclusive in (THRESH_EVEN if ties == "even" else THRESH_AWAY):
            idx += (a >= t) if inclusive else (a > t)
        codes = idx | ((c < 0).astype(np.uint8) << 3)       # NaN: no threshold, not < 0 -> 0x0
    codes = codes.reshape(m, k)
    x_fp4 = (codes[:, 0::2] | (codes[:, 1::2] << 4)).astype(np.uint8)
    x_sf = np.ascontiguousarray(e.reshape(m, k // 64, 4)).view("<i4").reshape(m, k // 64)
    return x_fp4, x_sf


def attr(f, name, default):
    v = f.attrs.get(name, default)
    return v.decode() if isinstance(v, bytes) else str(v)


def compute(f):
    """The outputs of one bundle by name, or None when the kernel is not ours."""
    kernel = attr(f, "kernel", "")
    ties, saturate = attr(f, "e2m1_ties", "away"), attr(f, "saturate_scale", "0") == "1"
    if kernel == "nvfp4_quant":
        fp4, sf = nvfp4_code(widen(f["inputs/x"]), ties, saturate)
        return {"x_fp4": fp4, "x_sf": sf}
    if kernel == "nvfp4_stage":
        fp4, sf = nvfp4_code(widen(f["inputs/hidden_states"]), ties, saturate)
        ids, w = f["inputs/topk_ids"][()], f["inputs/topk_weights"][()]
        return {"x_fp4": fp4, "x_sf": sf, "topk_idx_out": ids.astype(np.int64),  # sign-extended
                "topk_weights_out": w.copy()}                                     # value copy
    return None


def run(bundle_path, out_path, flip_nibble):
    with h5py.File(bundle_path, "r") as f:
        outs = compute(f)
        if outs is None:
            return False
        if flip_nibble and outs["x_fp4"].size:
            outs["x_fp4"][0, 0] ^= 0x10  # element [0, 1]: the high nibble of byte 0
        with h5py.File(out_path, "w") as g:
            g.attrs["kernel"] = f.attrs["kernel"]
            g.attrs["case"] = f.attrs["case"]
            for name, data in outs.items():
                ref = f["outputs/" + name]  # same storage type and dtype attribute as the bundle
                d = g.create_dataset("outputs/" + name, data=data.astype(ref.dtype).reshape(ref.shape))
                d.attrs["dtype"] = ref.attrs["dtype"]
    return True


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    flip = "--flip-nibble" in sys.argv[1:]
    src, out = pathlib.Path(args[0]), pathlib.Path(args[1])
    out.mkdir(parents=True, exist_ok=True)
    n = 0
    for b in sorted(src.rglob("*.h5")):
        n += run(b, out / b.name, flip)
    print(f"nvfp4.py: wrote {n} outputs files to {out}")
    return 0 if n else 1


if __name__ == "__main__":
    sys.exit(main())
