// The binary32 exp of the softmax pool and of the K5 compressor (AVX-512), exp_v: the algorithm,
// its bound and its AVX-512 == AVX2 bit identity are in optimized/softmax_pool.h. Internal
// linkage (optimized/simd_scalar.h); include after optimized/avx512/simd.h.
#pragma once

#include "optimized/softmax_pool_consts.h"

namespace kcs::opt {
namespace {

// kHi = false: the caller guarantees x <= 0 or NaN (pooling: x = z - max), so the upper clamp,
// which only acts above 88.75, is left out; the result is the same bits.
template <bool kHi = true>
inline __m512 exp_v(__m512 x) {
  // vmaxps / vminps return the second operand when one is NaN: x stays NaN.
  x = _mm512_max_ps(_mm512_set1_ps(kExpLo), x);
  if constexpr (kHi) x = _mm512_min_ps(_mm512_set1_ps(kExpHi), x);
  const __m512 t = _mm512_fmadd_ps(x, _mm512_set1_ps(k16Log2e), _mm512_set1_ps(kMagic));
  const __m512 k = _mm512_sub_ps(t, _mm512_set1_ps(kMagic));  // rint(x * 16/ln2), exact
  __m512 r = _mm512_fnmadd_ps(k, _mm512_set1_ps(kL16Hi), x);  // exact
  r = _mm512_fnmadd_ps(k, _mm512_set1_ps(kL16Lo), r);
  // e^r - 1 = r + r^2/2 + r^3/6 (|r| <= 0.0217: truncation < 0.16 ulp), then T + T·(e^r - 1)
  // with one rounding.
  __m512 p = _mm512_fmadd_ps(_mm512_set1_ps(kC3), r, _mm512_set1_ps(0.5f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
  p = _mm512_mul_ps(p, r);
  // T[k mod 16] (vpermps reads the low 4 bits of t, which are k's), then the product scaled by
  // 2^floor(k / 16) with one rounding (vscalefps floors its second operand; k / 16 is exact).
  const __m512 tk = _mm512_permutexvar_ps(_mm512_castps_si512(t), _mm512_load_ps(kExpTab));
  const __m512 m = _mm512_fmadd_ps(tk, p, tk);
  return _mm512_scalef_ps(m, _mm512_mul_ps(k, _mm512_set1_ps(0.0625f)));
}

}  // namespace
}  // namespace kcs::opt
