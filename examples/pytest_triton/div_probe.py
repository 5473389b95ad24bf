"""Does Triton's fp32 `/` (div.full.f32, up to 2 ulp from IEEE) change a bit the K4 staging
kernel produces? Checks, on the GPU:
  1. which PTX division the staging kernel's `amax / 6.0` and `1.0 / max(s, 1e-6)` become;
  2. scale = amax / 6.0 for every positive finite BF16 amax (after the 1e-4 floor): the fp32 bits
     from Triton's `/` against IEEE nearest-even (numpy), and the E4M3 byte each encodes to;
  3. the real staging kernel on rows whose 16-element groups have those amaxes: its x_sf bytes
     against the E4M3 encode of the IEEE scale;
  4. the reciprocal 1.0 / max(s, 1e-6) for all 128 UE4M3 scale values, Triton `/` against IEEE;
  5. the E4M3 tie vectors of the kernel definition (amax 6 -> 0x38, 6.375 -> 0x38, 7.125 -> 0x3A).
Usage: python3 div_probe.py [OUT.json]
"""
import json
import sys

import numpy as np
import torch
import triton
import triton.language as tl

from staging_kernel import _deepseek_v4_stage_mega_moe_inputs_kernel, _stage_deepseek_v4_mega_moe_inputs


@triton.jit
def _div_kernel(a_ptr, fast_ptr, rn_ptr, n, DEN: tl.constexpr, NUM_IS_A: tl.constexpr, BLOCK: tl.constexpr):
    i = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    m = i < n
    a = tl.load(a_ptr + i, mask=m, other=1.0)
    if NUM_IS_A:  # amax / 6.0, as the kernel writes it
        fast = a / DEN
        rn = tl.math.div_rn(a, tl.full(a.shape, DEN, tl.float32))
    else:  # 1.0 / max(s, 1e-6)
        d = tl.maximum(a, 1e-6)
        fast = 1.0 / d
        rn = tl.math.div_rn(tl.full(a.shape, 1.0, tl.float32), d)
    tl.store(fast_ptr + i, fast, mask=m)
    tl.store(rn_ptr + i, rn, mask=m)


def tri_div(a, num_is_a):
    x = torch.from_numpy(a).cuda()
    fast, rn = torch.empty_like(x), torch.empty_like(x)
    k = _div_kernel[(triton.cdiv(len(a), 1024),)](x, fast, rn, len(a), DEN=6.0, NUM_IS_A=num_is_a, BLOCK=1024)
    return fast.cpu().numpy(), rn.cpu().numpy(), k.asm["ptx"]


def enc_e4m3(scale):
    """The staging kernel's E4M3 encode (docs/kernels/nvfp4_stage.md), in numpy."""
    b = scale.view(np.uint32).astype(np.int64)
    E, F = (b >> 23) & 0xFF, b & 0x7FFFFF
    er = E - 120
    nm = F >> 20
    nm = nm + (((F >> 19) & 1) & (((F & 0x7FFFF) != 0) | (nm & 1)))
    sh = 1 - er
    ml = 0x800000 | F
    shc = np.clip(sh + 20, 0, 62)
    sm = (ml >> shc) & 7
    g = (ml >> np.clip(sh + 19, 0, 62)) & 1
    st = (ml & ((1 << np.clip(sh + 19, 0, 62)) - 1)) != 0
    sm = sm + (g & (st | (sm & 1)))
    normal = er >= 1
    mant = np.where(normal, nm, sm)
    exp = np.where(normal, er, 0)
    ov = mant >= 8
    mant = np.where(ov, 0, mant)
    exp = np.clip(np.where(ov, exp + 1, exp), 0, 15)
    return ((exp << 3) | mant).astype(np.uint8)


def divs_in_ptx(ptx):
    return sorted({ln.split()[0] for ln in ptx.splitlines() if ln.strip().startswith(("div.", "rcp."))})


def main():
    rep = {"device": torch.cuda.get_device_name(), "torch": torch.__version__, "triton": triton.__version__}
    # 1. The staging kernel's own PTX.
    M, K, top_k = 2, 128, 8
    hs = torch.randn(M, K, device="cuda").to(torch.bfloat16)
    ids = torch.zeros(M, top_k, dtype=torch.int32, device="cuda")
    w = torch.zeros(M, top_k, dtype=torch.float32, device="cuda")
    o = [torch.empty(M, K // 2, dtype=torch.uint8, device="cuda"), torch.empty(M, K // 64, dtype=torch.int32, device="cuda"),
         torch.empty(M, top_k, dtype=torch.int64, device="cuda"), torch.empty(M, top_k, dtype=torch.float32, device="cuda")]
    ck = _deepseek_v4_stage_mega_moe_inputs_kernel[(M, 1)](
        hs, o[0], o[1], ids, w, o[2], o[3], *hs.stride(), *o[0].stride(), *o[1].stride(), *ids.stride(), *w.stride(),
        *o[2].stride(), *o[3].stride(), K, top_k, BLOCK_K=128, GROUP_K=16, BLOCK_TOPK=8, num_warps=4)
    rep["staging_kernel_ptx_divisions"] = divs_in_ptx(ck.asm["ptx"])

    # 2. Every positive finite BF16 amax, floored at 1e-4 as the kernel does.
    bits = np.arange(0x0001, 0x7F80, dtype=np.uint32)  # positive, finite, nonzero
    amax = (bits << 16).view(np.float32)
    a = np.maximum(amax, np.float32(1e-4))
    fast, rn, ptx = tri_div(a, True)
    ieee = a / np.float32(6.0)
    rep["amax_div_ptx"] = divs_in_ptx(ptx)
    rep["bf16_amax_values"] = int(len(a))
    rep["scale_bits_differ_fast_vs_ieee"] = int(np.sum(fast.view(np.uint32) != ieee.view(np.uint32)))
    rep["scale_bits_differ_div_rn_vs_ieee"] = int(np.sum(rn.view(np.uint32) != ieee.view(np.uint32)))
    e_fast, e_ieee = enc_e4m3(fast), enc_e4m3(ieee)
    diff = np.nonzero(e_fast != e_ieee)[0]
    rep["e4m3_bytes_differ_fast_vs_ieee"] = int(len(diff))
    rep["e4m3_differ_examples"] = [{"amax": float(amax[i]), "fast_scale": float(fast[i]), "ieee_scale": float(ieee[i]),
                                    "fast_byte": int(e_fast[i]), "ieee_byte": int(e_ieee[i])} for i in diff[:10]]
    ulps = np.abs(fast.view(np.int32).astype(np.int64) - ieee.view(np.int32).astype(np.int64))
    rep["scale_max_ulp_fast_vs_ieee"] = int(ulps.max())

    # 3. The staging kernel itself: one amax per 16-element group (element 0 of the group).
    n = len(bits)
    rows = (n + 7) // 8
    x = np.zeros((rows, 128), dtype=np.uint16)
    flat = np.zeros(rows * 8, dtype=np.uint16)
    flat[:n] = bits.astype(np.uint16)
    x[:, 0::16] = flat.reshape(rows, 8)
    hs = torch.from_numpy(x.view(np.int16)).view(torch.bfloat16).cuda()
    ids = torch.zeros(rows, 1, dtype=torch.int32, device="cuda")
    w = torch.zeros(rows, 1, dtype=torch.float32, device="cuda")
    fp4 = torch.empty(rows, 64, dtype=torch.uint8, device="cuda")
    sf = torch.empty(rows, 2, dtype=torch.int32, device="cuda")
    io = torch.empty(rows, 1, dtype=torch.int64, device="cuda")
    wo = torch.empty(rows, 1, dtype=torch.float32, device="cuda")
    _stage_deepseek_v4_mega_moe_inputs(hs, w, ids, fp4, sf, io, wo)
    got = sf.cpu().numpy().view(np.uint8).reshape(-1)[:n]
    want = enc_e4m3(ieee)
    bad = np.nonzero(got != want)[0]
    rep["kernel_x_sf_bytes_differ_from_ieee_encode"] = int(len(bad))
    rep["kernel_differ_examples"] = [{"amax": float(amax[i]), "kernel_byte": int(got[i]), "ieee_byte": int(want[i])}
                                     for i in bad[:10]]

    # 4. The reciprocal of every UE4M3 scale value (bytes 0..127 decoded as the kernel does).
    e = np.arange(128)
    ex, mn = e >> 3, e & 7
    s_hat = np.where(ex == 0, mn / 8.0 * 2.0**-6, (1 + mn / 8.0) * 2.0 ** (ex - 7)).astype(np.float32)
    rf, rr, ptx = tri_div(s_hat, False)
    ri = np.float32(1.0) / np.maximum(s_hat, np.float32(1e-6))
    rep["recip_ptx"] = divs_in_ptx(ptx)
    rep["recip_bits_differ_fast_vs_ieee"] = int(np.sum(rf.view(np.uint32) != ri.view(np.uint32)))
    rep["recip_differ_examples"] = [{"byte": int(i), "s_hat": float(s_hat[i]), "fast": float(rf[i]), "ieee": float(ri[i])}
                                    for i in np.nonzero(rf.view(np.uint32) != ri.view(np.uint32))[0][:10]]

    # 5. E4M3 ties.
    ties = np.array([6.0, 6.375, 7.125], dtype=np.float32)
    tf, _, _ = tri_div(ties, True)
    rep["spec_10_6_ties"] = [{"amax": float(t), "fast_scale": float(f), "byte": int(b), "spec_byte": s}
                             for t, f, b, s in zip(ties, tf, enc_e4m3(tf), [0x38, 0x38, 0x3A])]
    print(json.dumps(rep, indent=1))
    if len(sys.argv) > 1:
        with open(sys.argv[1], "w") as f:
            json.dump(rep, f, indent=1)


if __name__ == "__main__":
    main()
