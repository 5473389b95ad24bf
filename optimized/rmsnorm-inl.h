// RMSNorm (spec §1.4), the ISA-neutral body of optimized/avx512/rmsnorm.cc and
// optimized/avx2/rmsnorm.cc, as rmsnorm_ms_<isa> / rmsnorm_rows_<isa>: the binary32 sequence and
// summation order of optimized/rmsnorm.h, so both give the same bits. Lanes past a row load as +0
// (padding adds +0 to partials that are >= +0); pass 2 re-reads the row (it is in L1/L2) and
// rounds to BF16 with integer arithmetic.
#pragma once

#include <cstdint>

#include "optimized/rmsnorm.h"

namespace kcs::opt {

namespace {

template <bool kPypto>
float sum_terms(const uint16_t* x, int64_t n, float inv_n) {
  const VF c = set1_f(inv_n);
  return tree_sum64(x, n, [&](const uint16_t* p, int64_t r) {
    const VF v = loadn_bf16(p, r);
    return kPypto ? mul_f(mul_f(v, v), c) : mul_f(v, v);
  });
}

template <bool kGammaF32>
void scale_row(const uint16_t* x, const void* gamma, int64_t n, float r, uint16_t* y) {
  const VF rv = set1_f(r);
  for_lanes(n, [&](int64_t j, int64_t m) {
    const VF g = kGammaF32 ? loadn_f32(static_cast<const float*>(gamma) + j, m)
                           : loadn_bf16(static_cast<const uint16_t*>(gamma) + j, m);
    storen_bf16(y + j, mul_f(g, mul_f(loadn_bf16(x + j, m), rv)), m);
  });
}

}  // namespace

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
