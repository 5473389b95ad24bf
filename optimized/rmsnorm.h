// RMSNorm SIMD row kernels, one per ISA (optimized/avx512/rmsnorm.cc, optimized/avx2/rmsnorm.cc).
//
// Both evaluate the same binary32 sequence, so AVX-512 and AVX2 give identical bits (spec §10.7):
//   t_k = (x_k ⊗ x_k) ⊗ inv_n   (pypto)   or   t_k = x_k ⊗ x_k   (v4)
//   64 partial sums P_l = Σ_{k ≡ l (mod 64)} t_k in increasing k (the row zero-padded to a
//   multiple of 64), then the fixed tree P_l ⊕= P_{l+w} for w = 32, 16, 8, 4, 2, 1;
//   ms = P_0 (pypto) or P_0 ⊘ f32(n) (v4);  r = 1 ⊘ sqrt(ms ⊕ eps);  y_j = bf16(γ_j ⊗ (x_j ⊗ r)).
// No FMA; BF16 rounding is integer round-to-nearest-even with subnormals kept (not vcvtneps2bf16,
// which flushes them, spec §13). Rows are independent: row tiling and threads change no bit.
#pragma once

#include <cstdint>

#include "kcs/cpu.h"
#include "kcs/kernels/rmsnorm.h"

namespace kcs::opt {

struct RmsNormRows {
  const uint16_t* x = nullptr;  // [rows, n] BF16
  const void* gamma = nullptr;  // [n] BF16 patterns or FP32
  bool gamma_f32 = false;
  RmsNormForm form = RmsNormForm::pypto;
  int64_t n = 0;
  float eps = 0;    // f32(eps)
  float inv_n = 0;  // f32(1/n), pypto
  float fn = 0;     // f32(n), v4
  uint16_t* y = nullptr;  // [rows, n] BF16
};

// Normalise rows [begin, end).
void rmsnorm_rows_avx512(const RmsNormRows& a, int64_t begin, int64_t end);
void rmsnorm_rows_avx2(const RmsNormRows& a, int64_t begin, int64_t end);

// The binary32 ms of one row (before ⊕ eps), for tests of the summation order: a changed order
// moves ms by a binary32 ulp long before it flips a BF16 output.
float rmsnorm_ms_avx512(const RmsNormRows& a, int64_t row);
float rmsnorm_ms_avx2(const RmsNormRows& a, int64_t row);

// ISA variants, best first (optimized/variants.h).
struct RmsNormVariant {
  Isa isa;
  decltype(&rmsnorm_rows_avx2) rows;
  decltype(&rmsnorm_ms_avx2) ms;
};
inline constexpr RmsNormVariant kRmsNormVariants[] = {
    {Isa::avx512, &rmsnorm_rows_avx512, &rmsnorm_ms_avx512},
    {Isa::avx2, &rmsnorm_rows_avx2, &rmsnorm_ms_avx2},
};

}  // namespace kcs::opt
