// The ISA-neutral part of RMSNorm (spec §1.4): the mean square's final division, the reciprocal
// root in scalar binary32 and the row loop, as rmsnorm_ms_<isa> / rmsnorm_rows_<isa>. Included at
// the end of optimized/avx512/rmsnorm.cc and optimized/avx2/rmsnorm.cc, each of which first
// defines, in its anonymous namespace,
//   template <bool kPypto> float sum_terms(const uint16_t* x, int64_t n, float inv_n);
//   template <bool kGammaF32> void scale_row(const uint16_t* x, const void* gamma, int64_t n,
//                                             float r, uint16_t* y).
#pragma once

#include <cstdint>

#include "optimized/rmsnorm.h"

namespace kcs::opt {

float KCS_ISA_FN(rmsnorm_ms)(const RmsNormRows& a, int64_t row) {
  const uint16_t* x = a.x + row * a.n;
  if (a.form == RmsNormForm::pypto) return sum_terms<true>(x, a.n, a.inv_n);
  return _mm_cvtss_f32(_mm_div_ss(_mm_set_ss(sum_terms<false>(x, a.n, a.inv_n)), _mm_set_ss(a.fn)));
}

void KCS_ISA_FN(rmsnorm_rows)(const RmsNormRows& a, int64_t begin, int64_t end) {
  for (int64_t row = begin; row < end; ++row) {
    const uint16_t* x = a.x + row * a.n;
    const float ms = KCS_ISA_FN(rmsnorm_ms)(a, row);
    const __m128 v = _mm_add_ss(_mm_set_ss(ms), _mm_set_ss(a.eps));
    const float r = _mm_cvtss_f32(_mm_div_ss(_mm_set_ss(1.0f), _mm_sqrt_ss(v)));
    if (a.gamma_f32)
      scale_row<true>(x, a.gamma, a.n, r, a.y + row * a.n);
    else
      scale_row<false>(x, a.gamma, a.n, r, a.y + row * a.n);
  }
}

}  // namespace kcs::opt
