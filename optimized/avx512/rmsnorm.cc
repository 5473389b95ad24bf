// RMSNorm (spec §1.4), AVX-512 F/BW/VL. The binary32 sequence and summation order are defined in
// optimized/rmsnorm.h and shared with the AVX2 file, which gives the same bits.
//
// The 64 partial sums live in four zmm accumulators (lane i of acc_q is partial 16q + i); the tail
// of a row is loaded with zero-masked loads, so padding adds +0 to partials that are already
// >= +0. Pass 2 re-reads the row (it is in L1/L2) and rounds to BF16 with integer arithmetic
// (round to nearest even, subnormals kept, NaN -> sign|0x7FC0 as kcs's bf16_from_float).
//
// Like the other ISA files, this one calls no inline helper of the kcs headers (see
// optimized/avx512/q8.cc): an out-of-line copy emitted here could be kept by the linker.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop

#include <cstdint>

#include "optimized/rmsnorm.h"

namespace kcs::opt {

namespace {

// Mask of the first r lanes (none for r <= 0, all for r >= 16).
inline __mmask16 lanes16(int64_t r) {
  if (r <= 0) return 0;
  return r >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << r) - 1u);
}

// 16 BF16 widened exactly to binary32 (masked-off lanes are +0).
inline __m512 load_bf16(const uint16_t* p, __mmask16 k) {
  const __m256i h = _mm256_maskz_loadu_epi16(k, p);
  return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

// BF16 round to nearest even of 16 binary32 values, stored under mask k.
inline void store_bf16(uint16_t* p, __m512 v, __mmask16 k) {
  const __m512i u = _mm512_castps_si512(v);
  const __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(1));
  __m512i r = _mm512_srli_epi32(_mm512_add_epi32(u, _mm512_add_epi32(lsb, _mm512_set1_epi32(0x7FFF))), 16);
  const __mmask16 nan =
      _mm512_cmpgt_epu32_mask(_mm512_and_si512(u, _mm512_set1_epi32(0x7FFFFFFF)), _mm512_set1_epi32(0x7F800000));
  const __m512i qnan =
      _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(0x8000)), _mm512_set1_epi32(0x7FC0));
  r = _mm512_mask_blend_epi32(nan, r, qnan);
  _mm256_mask_storeu_epi16(p, k, _mm512_cvtepi32_epi16(r));
}

// The fixed tree over the 64 partials in acc[0..3]: w = 32, 16, 8, 4, 2, 1.
inline float tree64(__m512 a0, __m512 a1, __m512 a2, __m512 a3) {
  const __m512 b = _mm512_add_ps(_mm512_add_ps(a0, a2), _mm512_add_ps(a1, a3));
  const __m256 c = _mm256_add_ps(_mm512_castps512_ps256(b), _mm512_extractf32x8_ps(b, 1));
  const __m128 d = _mm_add_ps(_mm256_castps256_ps128(c), _mm256_extractf128_ps(c, 1));
  const __m128 e = _mm_add_ps(d, _mm_movehl_ps(d, d));
  return _mm_cvtss_f32(_mm_add_ss(e, _mm_shuffle_ps(e, e, 1)));
}

template <bool kPypto>
inline __m512 term(__m512 v, __m512 c) {
  const __m512 t = _mm512_mul_ps(v, v);
  return kPypto ? _mm512_mul_ps(t, c) : t;
}

template <bool kPypto>
float sum_terms(const uint16_t* x, int64_t n, float inv_n) {
  const __m512 c = _mm512_set1_ps(inv_n);
  __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps(), a2 = _mm512_setzero_ps(), a3 = _mm512_setzero_ps();
  const __mmask16 all = 0xFFFF;
  int64_t k = 0;
  for (; k + 64 <= n; k += 64) {
    a0 = _mm512_add_ps(a0, term<kPypto>(load_bf16(x + k, all), c));
    a1 = _mm512_add_ps(a1, term<kPypto>(load_bf16(x + k + 16, all), c));
    a2 = _mm512_add_ps(a2, term<kPypto>(load_bf16(x + k + 32, all), c));
    a3 = _mm512_add_ps(a3, term<kPypto>(load_bf16(x + k + 48, all), c));
  }
  if (k < n) {  // zero-padded last block: padding adds +0 to partials that are >= +0
    a0 = _mm512_add_ps(a0, term<kPypto>(load_bf16(x + k, lanes16(n - k)), c));
    a1 = _mm512_add_ps(a1, term<kPypto>(load_bf16(x + k + 16, lanes16(n - k - 16)), c));
    a2 = _mm512_add_ps(a2, term<kPypto>(load_bf16(x + k + 32, lanes16(n - k - 32)), c));
    a3 = _mm512_add_ps(a3, term<kPypto>(load_bf16(x + k + 48, lanes16(n - k - 48)), c));
  }
  return tree64(a0, a1, a2, a3);
}

template <bool kGammaF32>
void scale_row(const uint16_t* x, const void* gamma, int64_t n, float r, uint16_t* y) {
  const __m512 rv = _mm512_set1_ps(r);
  for (int64_t j = 0; j < n; j += 16) {
    const __mmask16 k = lanes16(n - j);
    const __m512 g = kGammaF32 ? _mm512_maskz_loadu_ps(k, static_cast<const float*>(gamma) + j)
                               : load_bf16(static_cast<const uint16_t*>(gamma) + j, k);
    store_bf16(y + j, _mm512_mul_ps(g, _mm512_mul_ps(load_bf16(x + j, k), rv)), k);
  }
}

}  // namespace

float rmsnorm_ms_avx512(const RmsNormRows& a, int64_t row) {
  const uint16_t* x = a.x + row * a.n;
  if (a.form == RmsNormForm::pypto) return sum_terms<true>(x, a.n, a.inv_n);
  return _mm_cvtss_f32(_mm_div_ss(_mm_set_ss(sum_terms<false>(x, a.n, a.inv_n)), _mm_set_ss(a.fn)));
}

void rmsnorm_rows_avx512(const RmsNormRows& a, int64_t begin, int64_t end) {
  for (int64_t row = begin; row < end; ++row) {
    const uint16_t* x = a.x + row * a.n;
    const float ms = rmsnorm_ms_avx512(a, row);
    const __m128 v = _mm_add_ss(_mm_set_ss(ms), _mm_set_ss(a.eps));
    const float r = _mm_cvtss_f32(_mm_div_ss(_mm_set_ss(1.0f), _mm_sqrt_ss(v)));
    if (a.gamma_f32)
      scale_row<true>(x, a.gamma, a.n, r, a.y + row * a.n);
    else
      scale_row<false>(x, a.gamma, a.n, r, a.y + row * a.n);
  }
}

}  // namespace kcs::opt
