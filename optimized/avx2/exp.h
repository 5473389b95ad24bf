// The end of the binary32 exp of the softmax pool and of the K5 compressor on AVX2: exp_scale
// here, the rest is optimized/exp-inl.h (exp_v, one source for both ISAs). The algorithm, its
// bound and its AVX-512 == AVX2 bit identity are in optimized/softmax_pool.h. Internal linkage
// (optimized/simd_scalar.h); include after optimized/avx2/simd.h.
#pragma once

#include "optimized/softmax_pool_consts.h"

namespace kcs::opt {
namespace {

// e^x = 2^floor(k / 16) · (T[k mod 16] + T·p) for exp_v (optimized/exp-inl.h), without
// vpermps over 16 entries or vscalefps.
inline VF exp_scale(VF t, VF k, VF p) {
  (void)k;  // its bits are in t: t - kMagic is k units of its last place
  // T[k mod 16]: two 8-entry permutes on the low 3 bits of t, picked by bit 3 (moved to the sign).
  const __m256i ti = _mm256_castps_si256(t);
  const __m256 tlo = _mm256_permutevar8x32_ps(_mm256_load_ps(kExpTab), ti);
  const __m256 thi = _mm256_permutevar8x32_ps(_mm256_load_ps(kExpTab + 8), ti);
  const __m256 tk = _mm256_blendv_ps(tlo, thi, _mm256_castsi256_ps(_mm256_slli_epi32(ti, 28)));
  const __m256 m = fmadd_f(tk, p, tk);
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

#include "optimized/exp-inl.h"
