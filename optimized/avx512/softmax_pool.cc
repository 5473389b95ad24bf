// Gated softmax pooling (spec §7.4), AVX-512 F/BW: 16 columns per zmm, two zmm per step, the M
// loop inside (two passes: max, then exp and sums), masked column tails. The algorithm and the
// exp are described in optimized/softmax_pool.h; the AVX2 file runs the same IEEE operations.
//
// Compiled with AVX-512 flags: no inline helper of the kcs headers is called here, all local
// helpers are static / in an anonymous namespace (see optimized/avx512/q8.cc).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop

#include <cstdint>

#include "optimized/softmax_pool.h"

namespace kcs::opt {

namespace {

constexpr float kNegFill = -3.40282346638528859812e+38f;  // -FLT_MAX
constexpr float kLog2e = 1.44269504088896341f;
constexpr float kLn2Hi = 0.693147182464599609375f;        // float(ln 2), 0x3F317218
constexpr float kLn2Lo = -1.904654323148236e-09f;         // ln 2 - kLn2Hi, rounded
constexpr float kC7 = 1.0f / 5040, kC6 = 1.0f / 720, kC5 = 1.0f / 120, kC4 = 1.0f / 24, kC3 = 1.0f / 6;
constexpr float kExpLo = -104.0f, kExpHi = 88.75f;

inline __m512 exp16(__m512 x) {
  // vmaxps / vminps return the second operand when one is NaN: x stays NaN.
  x = _mm512_min_ps(_mm512_set1_ps(kExpHi), _mm512_max_ps(_mm512_set1_ps(kExpLo), x));
  const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(kLog2e)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(kLn2Hi), x);  // exact (Sterbenz-like cancellation)
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(kLn2Lo), r);
  __m512 p = _mm512_fmadd_ps(_mm512_set1_ps(kC7), r, _mm512_set1_ps(kC6));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(kC5));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(kC4));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(kC3));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
  return _mm512_scalef_ps(p, n);  // p * 2^n, one rounding (subnormal results included)
}

template <bool kBf16>
inline __m512 load_v(const void* row, int64_t c, __mmask16 k) {
  if constexpr (kBf16) {
    const __m256i h = _mm256_maskz_loadu_epi16(k, static_cast<const uint16_t*>(row) + c);
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));  // exact widening
  } else {
    return _mm512_maskz_loadu_ps(k, static_cast<const float*>(row) + c);
  }
}

// Widens the two halves of 16 floats to 2 x 8 doubles (exact).
inline __m512d lo_pd(__m512 x) { return _mm512_cvtps_pd(_mm512_castps512_ps256(x)); }
inline __m512d hi_pd(__m512 x) { return _mm512_cvtps_pd(_mm512_extractf32x8_ps(x, 1)); }

// kVec vectors of 16 columns from column c; the last one masked by `klast`.
template <bool kBf16, int kVec>
void pool_chunk(const PoolWindow& w, int64_t c, __mmask16 klast, float* out) {
  __m512 mx[kVec];
  __m512d den[2 * kVec], acc[2 * kVec];
  __mmask16 k[kVec];
  for (int j = 0; j < kVec; ++j) {
    k[j] = j == kVec - 1 ? klast : __mmask16{0xFFFF};
    mx[j] = _mm512_set1_ps(kNegFill);
  }
  for (int j = 0; j < 2 * kVec; ++j) {
    den[j] = _mm512_setzero_pd();
    acc[j] = _mm512_setzero_pd();
  }
  // Pass 1: fmax from -FLT_MAX; max(z, mx) returns mx for a NaN z, so NaN logits are skipped.
  for (int64_t q = 0; q < w.M; ++q) {
    const float* z = w.z[q] + c;
    for (int j = 0; j < kVec; ++j) mx[j] = _mm512_max_ps(_mm512_maskz_loadu_ps(k[j], z + 16 * j), mx[j]);
  }
  // Pass 2 in position order; e*v is exact in binary64, so each step rounds once.
  for (int64_t q = 0; q < w.M; ++q) {
    const float* z = w.z[q] + c;
    for (int j = 0; j < kVec; ++j) {
      const __m512 e = exp16(_mm512_sub_ps(_mm512_maskz_loadu_ps(k[j], z + 16 * j), mx[j]));
      const __m512 v = load_v<kBf16>(w.v[q], c + 16 * j, k[j]);
      const __m512d e0 = lo_pd(e), e1 = hi_pd(e);
      den[2 * j] = _mm512_add_pd(den[2 * j], e0);
      den[2 * j + 1] = _mm512_add_pd(den[2 * j + 1], e1);
      acc[2 * j] = _mm512_fmadd_pd(e0, lo_pd(v), acc[2 * j]);
      acc[2 * j + 1] = _mm512_fmadd_pd(e1, hi_pd(v), acc[2 * j + 1]);
    }
  }
  for (int j = 0; j < kVec; ++j) {
    const __m256 r0 = _mm512_cvtpd_ps(_mm512_div_pd(acc[2 * j], den[2 * j]));
    const __m256 r1 = _mm512_cvtpd_ps(_mm512_div_pd(acc[2 * j + 1], den[2 * j + 1]));
    _mm512_mask_storeu_ps(out + c + 16 * j, k[j], _mm512_insertf32x8(_mm512_castps256_ps512(r0), r1, 1));
  }
}

template <bool kBf16>
void pool_cols(const PoolWindow& w, int64_t c0, int64_t c1, float* out) {
  int64_t c = c0;
  for (; c + 32 <= c1; c += 32) pool_chunk<kBf16, 2>(w, c, 0xFFFF, out);
  for (; c < c1; c += 16) {
    const int64_t rem = c1 - c;
    pool_chunk<kBf16, 1>(w, c, rem >= 16 ? __mmask16{0xFFFF} : static_cast<__mmask16>((1u << rem) - 1u), out);
  }
}

}  // namespace

void softmax_pool_cols_avx512(const PoolWindow& w, int64_t c0, int64_t c1, float* out) {
  if (w.v_bf16)
    pool_cols<true>(w, c0, c1, out);
  else
    pool_cols<false>(w, c0, c1, out);
}

void exp_f32_avx512(const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 k = n - i >= 16 ? __mmask16{0xFFFF} : static_cast<__mmask16>((1u << (n - i)) - 1u);
    _mm512_mask_storeu_ps(y + i, k, exp16(_mm512_maskz_loadu_ps(k, x + i)));
  }
}

}  // namespace kcs::opt
