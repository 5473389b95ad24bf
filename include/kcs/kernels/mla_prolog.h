// mla_prolog: K2 MLA Prolog Quant (DeepSeek V3.2), docs/kernels/mla_prolog.md. Quant mode (non-empty dequant_scale,
// INT8 w_uq_qr / q_norm_out / kv_cache) and non-quant mode (empty dequant_scale, BF16 ones).
//
// Per token i, in the normative order of spec §4.3 (the fused reference calls the primitive
// references in exactly this order, kcs/kernels/{gemm_bf16,rmsnorm,q8,gemm_i8,rope,scatter}.h):
//   1 q_down     qa  = bf16(x · w_dq)                               gemm_bf16 (K = h)
//   2 q_norm     cq  = bf16(RMSNorm_pypto(qa; gamma_cq, eps_cq))     rmsnorm
//   3 q_quant    quant: (q_norm_out, q_norm_scale_out) = Q8(cq)      q8 (rint, no floor, FP32 scale)
//                non-quant: q_norm_out = cq
//   4 q_up       quant: qb = bf16((f32(acc) ⊗ s_dq) ⊗ dequant_scale)  gemm_i8 (bf16 out)
//                non-quant: qb = bf16(cq · w_uq_qr)                  gemm_bf16
//                qb viewed [n1, nope + rope]: nope slice first
//   5 q_nope     query_nope_out[i, h] = bf16(qb[h, 0:nope] · w_uk[h]) gemm_bf16 batched over heads
//   6 q_rope     query_rope_out[i, h] = bf16(R-V2(qb[h, nope:], cos[i], sin[i]))   rope v2
//   7 kv_down    kv  = bf16(x · w_dkv_kr)                            gemm_bf16
//   8 k_rope     kr  = bf16(R-V2(kv[kv_lora:], cos[i], sin[i])), scattered into kr_cache
//   9 kv_norm    ckv = bf16(RMSNorm_pypto(kv[0:kv_lora]; gamma_ckv, eps_ckv))
//  10 kv_quant   quant: 4 groups of kv_lora/4, Q8 each -> kv_cache codes, k_scale_cache (FP32)
//                non-quant: ckv -> kv_cache (BF16); k_scale_cache untouched
//  11 scatters   negative cache_index skips the token; duplicates: last token wins (docs/kernels/mla_prolog.md)
//
// Chaining into K1 (spec §1.9): K1's q_norm [t, q_lora] INT8 is this kernel's q_norm_out and K1's
// q_norm_scale [t, 1] FP32 is q_norm_scale_out (quant mode), with the same token_x.
#pragma once

#include <cstdint>

#include "kcs/kernels/scatter.h"

namespace kcs {

struct Problem;

// The problem's dimensions and attributes in one place (names as in the declaration,
// decl/mla_prolog.cc), parsed once for the declaration and both backends.
struct MlaPrologDims {
  int64_t t = 0, h = 0, q_lora = 0, n1 = 0, nope = 0, rope = 0, kv_lora = 0;
  int64_t block_num = 0, block_size = 0;
  bool quant = true;
  double eps_cq = 0, eps_ckv = 0;
  CacheLayout layout = CacheLayout::pa_bsnd;
  int64_t qhd() const { return nope + rope; }     // q_head_dim
  int64_t nq() const { return n1 * qhd(); }       // columns of w_uq_qr
  int64_t nkv() const { return kv_lora + rope; }  // columns of w_dkv_kr
  int64_t group() const { return kv_lora / 4; }   // Q8 group of the KV latent
};

// Reads the dims (and the mode: dq_n > 0) of a validated mla_prolog problem.
MlaPrologDims mla_prolog_dims(const Problem& p);

constexpr int64_t kMlaKvGroups = 4;

// The three paged caches and the geometry of each (kv: kv_lora codes or BF16 values, kr: rope
// BF16 values, k_scale: 4 fp32 group scales per token).
enum class MlaCache { kv, kr, k_scale };
ScatterGeom mla_prolog_cache_geom(const MlaPrologDims& d, MlaCache which);

}  // namespace kcs
