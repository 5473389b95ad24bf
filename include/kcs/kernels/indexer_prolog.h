// indexer_prolog: K1 Lightning Indexer Prolog Quant (DeepSeek V3.2, docs/kernels/indexer_prolog.md). Per token i:
//   query   qb = bf16((f32(q_norm·w_qb) ⊗ q_norm_scale) ⊗ w_qb_scale)        gemm_i8   (steps 1-2)
//           q_cat = R-HALF on qb[h, 0:R] (cos/sin of token i for every head)   rope      (step 3)
//           qh = bf16(q_cat · hadamard_q)                                     hadamard  (step 4)
//           (q_int8, q_scale) = Q8(qh) per head, rint, no floor, fp16 scale   q8        (step 5)
//   key     kf = x·wk kept in fp32                                             gemm_bf16 (step 6)
//           kb = bf16(LayerNorm(kf; ln_gamma_k, ln_beta_k, eps))              layernorm (step 7)
//           k_cat = R-HALF on kb[0:R];  kh = bf16(k_cat · hadamard_k)         rope, hadamard (8-9)
//           (k_code, k_sc) = Q8(kh);  written at k_cache_index[i] if >= 0      q8, scatter (10-11)
//   weights wb = bf16(x·w_proj);  weights = fp16(f32(wb) ⊗ c),  c = f32(1/(√H·√D))   gemm_bf16 (12-13)
// The reference (reference/indexer_prolog.cc) calls the primitive references above in this order;
// only step 13 (one binary32 multiply and an fp16 cast) has no primitive, it is below.
#pragma once

#include <cstdint>

namespace kcs {

// c = f32(1/(√H·√D)), from binary64 (spec §3.3 step 13; for H = 64, D = 128: 0.011048543266952038).
float indexer_prolog_weight_scale(int64_t H, int64_t D);

// Step 13 for one value: fp16 bit pattern of f32(wb) ⊗ c (binary32 product, then nearest-even fp16).
uint16_t indexer_prolog_weight(uint16_t wb_bf16, float c);

}  // namespace kcs
