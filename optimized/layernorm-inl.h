// LayerNorm, K1 form (spec §1.4), the ISA-neutral body of optimized/avx512/layernorm.cc and
// optimized/avx2/layernorm.cc (the binary32 sequence and summation order of optimized/layernorm.h,
// so both give the same bits).
//
// Three passes over the FP32 row (it stays in L1/L2): the mean, the variance of δ = x ⊖ μ, and
// the output. Lanes past the row load as +0, so padding contributes +0 to the mean; the variance
// term is zeroed there, since 0 ⊖ μ is not 0.
#pragma once

#include <cstdint>

#include "optimized/layernorm.h"

namespace kcs::opt {

void KCS_ISA_FN(layernorm_stats)(const LayerNormRows& a, int64_t row, float* mu, float* var) {
  const VF c = set1_f(a.inv_n);
  const float* x = a.x + row * a.n;
  *mu = tree_sum64(x, a.n, [&](const float* p, int64_t r) { return mul_f(loadn_f32(p, r), c); });
  const VF muv = set1_f(*mu);
  *var = tree_sum64(x, a.n, [&](const float* p, int64_t r) {
    const VF d = sub_f(loadn_f32(p, r), muv);
    return zero_past(mul_f(mul_f(d, d), c), r);
  });
}

void KCS_ISA_FN(layernorm_rows)(const LayerNormRows& a, int64_t begin, int64_t end) {
  for (int64_t row = begin; row < end; ++row) {
    const float* x = a.x + row * a.n;
    float mu, var;
    KCS_ISA_FN(layernorm_stats)(a, row, &mu, &var);
    const VF muv = set1_f(mu);
    const VF den = set1_f(_mm_cvtss_f32(_mm_sqrt_ss(_mm_add_ss(_mm_set_ss(var), _mm_set_ss(a.eps)))));
    uint16_t* y = a.y + row * a.n;
    for_lanes(a.n, [&](int64_t j, int64_t r) {
      const VF z = div_f(sub_f(loadn_f32(x + j, r), muv), den);
      storen_bf16(y + j, add_f(mul_f(z, loadn_bf16(a.gamma + j, r)), loadn_bf16(a.beta + j, r)), r);
    });
  }
}

}  // namespace kcs::opt
