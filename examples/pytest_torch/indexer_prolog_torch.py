"""K1 lightning indexer prolog (docs/kernels/indexer_prolog.md) written with torch CPU ops, the
way a PyTorch user would: fp32 math on upcast BF16, BF16 casts where the kernel stores BF16.

KCS_EXAMPLE_BREAK=1 breaks it on purpose: the RoPE rotates the wrong way (sin sign flipped),
a plausible bug that kcs must report on q_int8 and k_cache, naming an element.
"""
import math
import os

import torch

BF16, F32 = torch.bfloat16, torch.float32


def rope_half(x, cos, sin):
    """rotate_half RoPE on the last dim of x [..., R] with per-token tables [t, R] (x: fp32)."""
    h = x.shape[-1] // 2
    rot = torch.cat([-x[..., h:], x[..., :h]], dim=-1)
    if os.environ.get("KCS_EXAMPLE_BREAK"):
        rot = -rot
    return x * cos + rot * sin


def q8_rows(x):
    """Q8 per row: rint, no amax floor, binary32 steps, fp16 scale. x: BF16 [..., n]."""
    xf = x.to(F32)
    amax = xf.abs().amax(dim=-1, keepdim=True)
    zero = amax == 0
    s_q = torch.tensor(127.0, dtype=F32) / torch.where(zero, torch.ones_like(amax), amax)
    codes = torch.round(xf * s_q).clamp(-128, 127)  # torch.round: ties to even
    codes = torch.where(zero, torch.zeros_like(codes), codes).to(torch.int8)
    scale = torch.where(zero, torch.zeros_like(s_q), torch.tensor(1.0, dtype=F32) / s_q).to(torch.float16)
    return codes, scale


def indexer_prolog(x, q_norm, q_norm_scale, w_qb, w_qb_scale, wk, w_proj, ln_gamma_k, ln_beta_k, cos, sin,
                   hadamard_q, hadamard_k, k_cache, k_scale_cache, k_cache_index, eps=1e-6, **_):
    t = x.shape[0]
    q_lora, H, D = w_qb.shape
    R = cos.shape[-1]
    slots = k_cache.shape[0] * k_cache.shape[1]
    bad = (k_cache_index >= slots).nonzero()
    if len(bad):
        i = int(bad[0, 0])
        raise ValueError("k_cache_index: index[%d] = %d is out of range: %d slots" % (i, int(k_cache_index[i]), slots))
    cos_f, sin_f = cos.to(F32)[:, None, :], sin.to(F32)[:, None, :]

    # Query: int8 GEMM (exact in float64), dequant in fp32, BF16; RoPE on the first R of each head.
    acc = (q_norm.to(torch.float64) @ w_qb.reshape(q_lora, H * D).to(torch.float64)).to(F32)
    qb = (acc * q_norm_scale * w_qb_scale.reshape(1, H * D)).to(BF16).reshape(t, H, D)
    q_cat = torch.cat([rope_half(qb[..., :R].to(F32), cos_f, sin_f).to(BF16), qb[..., R:]], dim=-1)
    qh = (q_cat.to(F32) @ hadamard_q.to(F32)).to(BF16)
    q_int8, q_scale = q8_rows(qh)

    # Key: fp32 GEMM, LayerNorm, BF16, RoPE, Hadamard, Q8, scatter into the paged caches.
    kf = x.to(F32) @ wk.to(F32)
    kb = torch.nn.functional.layer_norm(kf, (D,), ln_gamma_k.to(F32), ln_beta_k.to(F32), float(eps)).to(BF16)
    k_cat = torch.cat([rope_half(kb[:, :R].to(F32), cos.to(F32), sin.to(F32)).to(BF16), kb[:, R:]], dim=-1)
    kh = (k_cat.to(F32) @ hadamard_k.to(F32)).to(BF16)
    k_codes, k_scale = q8_rows(kh)
    k_cache, k_scale_cache = k_cache.clone(), k_scale_cache.clone()
    kc, ks = k_cache.view(slots, D), k_scale_cache.view(slots, 1)
    for i in range(t):  # in token order: the last token naming a slot wins; < 0 is padding
        s = int(k_cache_index[i])
        if s >= 0:
            kc[s], ks[s] = k_codes[i], k_scale[i]

    # Weights: BF16 GEMM result, times c in fp32, fp16.
    c = torch.tensor(1.0 / (math.sqrt(H) * math.sqrt(D)), dtype=F32)
    wb = (x.to(F32) @ w_proj.to(F32)).to(BF16)
    weights = (wb.to(F32) * c).to(torch.float16)
    return {"q_int8": q_int8, "q_scale": q_scale, "weights": weights, "k_cache": k_cache,
            "k_scale_cache": k_scale_cache}
