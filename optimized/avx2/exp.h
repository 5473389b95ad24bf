// The binary32 exp of the softmax pool and of the K5 compressor (AVX2), exp_v: the algorithm,
// its bound and its AVX-512 == AVX2 bit identity are in optimized/softmax_pool.h. Internal
// linkage (optimized/simd_scalar.h); include after optimized/avx2/simd.h.
#pragma once

#include "optimized/softmax_pool_consts.h"

namespace kcs::opt {
namespace {

// kHi = false: the caller guarantees x <= 0 or NaN (pooling), so the upper clamp, which only
// acts above 88.75, is left out; the result is the same bits.
template <bool kHi = true>
inline __m256 exp_v(__m256 x) {
  // vmaxps / vminps return the second operand when one is NaN: x stays NaN.
  x = _mm256_max_ps(_mm256_set1_ps(kExpLo), x);
  if constexpr (kHi) x = _mm256_min_ps(_mm256_set1_ps(kExpHi), x);
  const __m256 t = _mm256_fmadd_ps(x, _mm256_set1_ps(k16Log2e), _mm256_set1_ps(kMagic));
  const __m256 k = _mm256_sub_ps(t, _mm256_set1_ps(kMagic));  // rint(x * 16/ln2), exact
  __m256 r = _mm256_fnmadd_ps(k, _mm256_set1_ps(kL16Hi), x);
  r = _mm256_fnmadd_ps(k, _mm256_set1_ps(kL16Lo), r);
  // e^r - 1 = r + r^2/2 + r^3/6 (|r| <= 0.0217: truncation < 0.16 ulp), then T + T·(e^r - 1)
  // with one rounding.
  __m256 p = _mm256_fmadd_ps(_mm256_set1_ps(kC3), r, _mm256_set1_ps(0.5f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
  p = _mm256_mul_ps(p, r);
  // T[k mod 16]: two 8-entry permutes on the low 3 bits of t, picked by bit 3 (moved to the sign).
  const __m256i ti = _mm256_castps_si256(t);
  const __m256 tlo = _mm256_permutevar8x32_ps(_mm256_load_ps(kExpTab), ti);
  const __m256 thi = _mm256_permutevar8x32_ps(_mm256_load_ps(kExpTab + 8), ti);
  const __m256 tk = _mm256_blendv_ps(tlo, thi, _mm256_castsi256_ps(_mm256_slli_epi32(ti, 28)));
  const __m256 m = _mm256_fmadd_ps(tk, p, tk);
  // m * 2^n with n = floor(k / 16) in [-151, 128], as (m * 2^n1) * 2^n2 with n1 = floor(n/2),
  // n2 = n - n1, both in [-76, 64]: the first product is exact, the second rounds once, which is
  // what vscalefps computes.
  const __m256i ni = _mm256_srai_epi32(_mm256_sub_epi32(ti, _mm256_castps_si256(_mm256_set1_ps(kMagic))), 4);
  const __m256i n1 = _mm256_srai_epi32(ni, 1);
  const __m256i n2 = _mm256_sub_epi32(ni, n1);
  const __m256i bias = _mm256_set1_epi32(127);
  const __m256 s1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n1, bias), 23));
  const __m256 s2 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n2, bias), 23));
  return _mm256_mul_ps(_mm256_mul_ps(m, s1), s2);
}

}  // namespace
}  // namespace kcs::opt
