// LayerNorm (K1 form) SIMD row kernels, one per ISA (optimized/avx512/layernorm.cc,
// optimized/avx2/layernorm.cc).
//
// Both evaluate the same binary32 sequence (the K1 source's operation order, with a fixed
// summation order), so AVX-512 and AVX2 give identical bits:
//   μ = tree(x_k ⊗ c),  δ_k = x_k ⊖ μ,  σ² = tree((δ_k ⊗ δ_k) ⊗ c),  den = sqrt(σ² ⊕ eps),
//   y_j = bf16((δ_j ⊘ den) ⊗ γ_j ⊕ β_j),   c = f32(1/n),
// where tree(t) = 64 partial sums P_l = Σ_{k ≡ l (mod 64)} t_k in increasing k (padding lanes
// contribute +0), then P_l ⊕= P_{l+w} for w = 32, 16, 8, 4, 2, 1. No FMA; the division is a true
// division; BF16 rounding is integer round-to-nearest-even with subnormals kept.
#pragma once

#include <cstdint>

#include "kcs/cpu.h"

namespace kcs::opt {

struct LayerNormRows {
  const float* x = nullptr;       // [rows, n] FP32
  const uint16_t* gamma = nullptr;  // [n] BF16
  const uint16_t* beta = nullptr;   // [n] BF16
  int64_t n = 0;
  float eps = 0;    // f32(eps)
  float inv_n = 0;  // f32(1/n)
  uint16_t* y = nullptr;  // [rows, n] BF16
};

void layernorm_rows_avx512(const LayerNormRows& a, int64_t begin, int64_t end);
void layernorm_rows_avx2(const LayerNormRows& a, int64_t begin, int64_t end);

// The binary32 μ and σ² of one row, for tests of the summation order (see optimized/rmsnorm.h).
void layernorm_stats_avx512(const LayerNormRows& a, int64_t row, float* mu, float* var);
void layernorm_stats_avx2(const LayerNormRows& a, int64_t row, float* mu, float* var);

// ISA variants, best first (optimized/variants.h).
struct LayerNormVariant {
  Isa isa;
  decltype(&layernorm_rows_avx2) rows;
  decltype(&layernorm_stats_avx2) stats;
};
inline constexpr LayerNormVariant kLayerNormVariants[] = {
    {Isa::avx512, &layernorm_rows_avx512, &layernorm_stats_avx512},
    {Isa::avx2, &layernorm_rows_avx2, &layernorm_stats_avx2},
};

}  // namespace kcs::opt
