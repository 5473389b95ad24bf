"""K1 indexer_prolog and K2 mla_prolog (quant mode) as a PyTorch user writes them with CPU ops.

The peer of bench/peers/torch_bench.py: the computation of docs/kernels/indexer_prolog.md and
docs/kernels/mla_prolog.md in the dtypes the model uses (BF16 activations and GEMMs, FP32 norms and
Q8), not bit-exact with kcs. PyTorch has no CPU int8 GEMM in its public ops, so the INT8 weights are
held as BF16 (exact for int8 values) once at load time and the codes multiply in BF16 with FP32
accumulation: what a user without a quantized backend writes.
"""
import torch

BF16 = torch.bfloat16


def q8(v):
    """Q8 per row of the last axis (docs/kernels/q8.md, rint, no floor): int8 codes, FP32 s_dq."""
    v = v.float()
    amax = v.abs().amax(-1, keepdim=True)
    s_q = 127.0 / amax
    codes = torch.where(amax > 0, torch.round(v * s_q), torch.zeros_like(v)).to(torch.int8)
    return codes, torch.where(amax > 0, 1.0 / s_q, torch.zeros_like(amax))


def rope_half(x, cos, sin):
    """Rotate-half on the last axis of x [t, ..., R] with half-duplicated [t, R] tables."""
    h = x.shape[-1] // 2
    shape = (cos.shape[0],) + (1,) * (x.dim() - 2) + (cos.shape[1],)
    c, s = cos.float().view(shape), sin.float().view(shape)
    xf = x.float()
    rot = torch.cat((-xf[..., h:], xf[..., :h]), -1)
    return (xf * c + rot * s).to(BF16)


def rope_v2(x, cos, sin):
    """De-interleave, then rotate-half; the result stays de-interleaved."""
    return rope_half(torch.cat((x[..., 0::2], x[..., 1::2]), -1), cos, sin)


def rms_norm(x, gamma, eps):
    xf = x.float()
    return (xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + eps) * gamma.float()).to(BF16)


def scatter_rows(cache, index, rows):
    """cache viewed [slots, ...]: row index[i] = rows[i] where index[i] >= 0 (last token wins)."""
    flat = cache.view(-1, *rows.shape[1:])
    keep = index >= 0
    flat[index[keep]] = rows[keep]


def indexer_prolog(a, w):
    """K1. a: per-call tensors (x, q_norm, q_norm_scale, cos, sin, k_cache, k_scale_cache,
    k_cache_index); w: weights (w_qb [q_lora, H*D] BF16, w_qb_scale [H*D], wk, w_proj, ln_gamma_k,
    ln_beta_k, hadamard_q, hadamard_k). Returns q_int8 [t, H, D], q_scale [t, H, 1] FP16,
    weights [t, H] FP16; writes the caches."""
    t, H, D = a["x"].shape[0], w["H"], w["D"]
    R = a["cos"].shape[1]
    acc = torch.matmul(a["q_norm"].to(BF16), w["w_qb"]).float()
    qb = (acc * a["q_norm_scale"] * w["w_qb_scale"]).to(BF16).view(t, H, D)
    q_cat = torch.cat((rope_half(qb[..., :R], a["cos"], a["sin"]), qb[..., R:]), -1)
    qh = torch.matmul(q_cat, w["hadamard_q"])
    q_int8, q_s = q8(qh)
    kf = torch.matmul(a["x"], w["wk"])
    kb = torch.nn.functional.layer_norm(kf.float(), (D,), w["ln_gamma_k"].float(), w["ln_beta_k"].float(), w["eps"]).to(BF16)
    k_cat = torch.cat((rope_half(kb[:, :R], a["cos"], a["sin"]), kb[:, R:]), -1)
    k_code, k_s = q8(torch.matmul(k_cat, w["hadamard_k"]))
    scatter_rows(a["k_cache"], a["k_cache_index"], k_code)
    scatter_rows(a["k_scale_cache"], a["k_cache_index"], k_s.half())
    weights = (torch.matmul(a["x"], w["w_proj"]).float() * (1.0 / (H ** 0.5 * D ** 0.5))).half()
    return q_int8, q_s.half(), weights


def mla_prolog(a, w):
    """K2, quant mode. a: token_x, cos, sin, cache_index, kv_cache, kr_cache, k_scale_cache; w:
    w_dq, w_uq_qr [q_lora, n1*(nope+rope)] BF16, dequant_scale [nq], w_uk [n1, nope, kv_lora],
    w_dkv_kr, gamma_cq, gamma_ckv, eps. Returns q_norm_out, q_norm_scale_out, query_nope_out,
    query_rope_out; writes the caches."""
    x, t = a["token_x"], a["token_x"].shape[0]
    n1, nope, kv_lora = w["w_uk"].shape
    cq = rms_norm(torch.matmul(x, w["w_dq"]), w["gamma_cq"], w["eps"])
    q_codes, q_s = q8(cq)
    qb = (torch.matmul(q_codes.to(BF16), w["w_uq_qr"]).float() * q_s * w["dequant_scale"]).to(BF16).view(t, n1, -1)
    q_nope = torch.bmm(qb[..., :nope].transpose(0, 1), w["w_uk"]).transpose(0, 1)
    q_rope = rope_v2(qb[..., nope:], a["cos"], a["sin"])
    kv = torch.matmul(x, w["w_dkv_kr"])
    kr = rope_v2(kv[:, kv_lora:], a["cos"], a["sin"])
    ckv = rms_norm(kv[:, :kv_lora], w["gamma_ckv"], w["eps"])
    kv_codes, kv_s = q8(ckv.view(t, 4, kv_lora // 4))
    scatter_rows(a["kr_cache"], a["cache_index"], kr)
    scatter_rows(a["kv_cache"], a["cache_index"], kv_codes.view(t, kv_lora))
    scatter_rows(a["k_scale_cache"], a["cache_index"], kv_s.view(t, 4))
    return q_codes, q_s, q_nope, q_rope
