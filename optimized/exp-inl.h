// The binary32 exp of the softmax pool and of the K5 compressor, exp_v, one source for both ISAs:
// the algorithm, its bound and its AVX-512 == AVX2 bit identity are in optimized/softmax_pool.h.
// Included by optimized/avx512/exp.h and optimized/avx2/exp.h after their exp_scale (the table
// lookup and the scaling, where the ISAs differ).
#pragma once

#include "optimized/softmax_pool_consts.h"

namespace kcs::opt {
namespace {

// The exp of optimized/softmax_pool.h. kHi = false: the caller guarantees x <= 0 or NaN (pooling:
// x = z - max), so the upper clamp, which only acts above 88.75, is left out; the same bits.
template <bool kHi = true>
inline VF exp_v(VF x) {
  x = max_f(set1_f(kExpLo), x);  // the second operand when one is NaN: x stays NaN
  if constexpr (kHi) x = min_f(set1_f(kExpHi), x);
  const VF t = fmadd_f(x, set1_f(kLog2e), set1_f(kMagic));
  const VF k = sub_f(t, set1_f(kMagic));  // rint(x * 16/ln2) / 16, exact
  const VF r = fnmadd_f(k, set1_f(kLn2Lo), fnmadd_f(k, set1_f(kLn2Hi), x));  // the first exact
  // p = e^r - 1 = r + r^2/2 + r^3/6 (|r| <= 0.0217: truncation < 0.16 ulp).
  const VF p = mul_f(fmadd_f(fmadd_f(set1_f(kC3), r, set1_f(0.5f)), r, set1_f(1.0f)), r);
  return exp_scale(t, k, p);
}

}  // namespace
}  // namespace kcs::opt
