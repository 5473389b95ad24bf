// Gated softmax pooling (spec §7.4), AVX2 + FMA: 8 columns per ymm, two ymm per step, the M
// loop inside (two passes: max, then exp and binary32 sums), masked column tails. Same IEEE operations
// as the AVX-512 file (optimized/softmax_pool.h), so both give identical bits.
//
// Compiled with AVX2 flags: no inline helper of the kcs headers is called here; local helpers
// are static / in an anonymous namespace.

#include <cstdint>
#include <cstring>

#include "optimized/avx2/simd.h"
#include "optimized/softmax_pool.h"
#include "optimized/softmax_pool_consts.h"

namespace kcs::opt {

namespace {

// kHi = false: the caller guarantees x <= 0 or NaN (pooling), so the upper clamp, which only
// acts above 88.75, is left out; the result is the same bits.
template <bool kHi = true>
inline __m256 exp8(__m256 x) {
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

// Lanes [0, rem) of 8 (rem <= 8).
inline __m256i lane_mask(int64_t rem) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(rem)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

inline __m256 load_z(const float* z, int64_t rem, __m256i m) {
  return rem >= 8 ? _mm256_loadu_ps(z) : _mm256_maskload_ps(z, m);
}

template <bool kBf16>
inline __m256 load_v(const void* row, int64_t c, int64_t rem, __m256i m) {
  if constexpr (kBf16) {
    const uint16_t* p = static_cast<const uint16_t*>(row) + c;
    __m128i h;
    if (rem >= 8) {
      h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    } else {
      uint16_t tmp[8] = {0, 0, 0, 0, 0, 0, 0, 0};
      std::memcpy(tmp, p, static_cast<size_t>(rem) * 2);  // no read past the row
      h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(tmp));
    }
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));  // exact widening
  } else {
    return load_z(static_cast<const float*>(row) + c, rem, m);
  }
}

// How the logits are given: fp32 rows (z), or score rows (fp32 / BF16) plus bias rows.
enum class Logits { f32, score_f32, score_bf16 };

template <Logits kZ>
inline __m256 load_logit(const PoolWindow& w, int64_t q, int64_t c, int64_t rem, __m256i m) {
  if constexpr (kZ == Logits::f32) {
    return load_z(w.z[q] + c, rem, m);
  } else {
    const __m256 s = load_v<kZ == Logits::score_bf16>(w.score[q], c, rem, m);
    return _mm256_add_ps(s, load_z(w.bias[q] + c, rem, m));
  }
}

// kVec vectors of 8 columns from column c; `rem_last` columns remain in the last one (<= 8).
// The logits are computed again in pass 2 (16 ymm registers cannot hold a window).
template <Logits kZ, bool kBf16, int kVec>
void pool_chunk(const PoolWindow& w, int64_t c, int64_t rem_last, float* out) {
  __m256 mx[kVec], den[kVec], acc[kVec];
  int64_t rem[kVec];
  __m256i m[kVec];
  for (int j = 0; j < kVec; ++j) {
    rem[j] = j == kVec - 1 ? rem_last : 8;
    m[j] = lane_mask(rem[j]);
    mx[j] = _mm256_set1_ps(kNegFill);
  }
  // Pass 1: fmax from -FLT_MAX; max(z, mx) returns mx for a NaN z, so NaN logits are skipped.
  for (int64_t q = 0; q < w.M; ++q)
    for (int j = 0; j < kVec; ++j) mx[j] = _mm256_max_ps(load_logit<kZ>(w, q, c + 8 * j, rem[j], m[j]), mx[j]);
  // Pass 2 in position order, in blocks of kPoolBlock positions (optimized/softmax_pool.h).
  for (int64_t q0 = 0; q0 < w.M; q0 += kPoolBlock) {
    const int64_t q1 = q0 + kPoolBlock < w.M ? q0 + kPoolBlock : w.M;
    __m256 sd[kVec], sa[kVec];
    for (int j = 0; j < kVec; ++j) sd[j] = sa[j] = _mm256_setzero_ps();
    for (int64_t q = q0; q < q1; ++q)
      for (int j = 0; j < kVec; ++j) {
        const __m256 e = exp8<false>(_mm256_sub_ps(load_logit<kZ>(w, q, c + 8 * j, rem[j], m[j]), mx[j]));
        sd[j] = _mm256_add_ps(sd[j], e);
        sa[j] = _mm256_fmadd_ps(e, load_v<kBf16>(w.v[q], c + 8 * j, rem[j], m[j]), sa[j]);
      }
    for (int j = 0; j < kVec; ++j) {
      den[j] = q0 == 0 ? sd[j] : _mm256_add_ps(den[j], sd[j]);
      acc[j] = q0 == 0 ? sa[j] : _mm256_add_ps(acc[j], sa[j]);
    }
  }
  for (int j = 0; j < kVec; ++j) {
    const __m256 r = _mm256_div_ps(acc[j], den[j]);
    if (rem[j] >= 8)
      _mm256_storeu_ps(out + c + 8 * j, r);
    else
      _mm256_maskstore_ps(out + c + 8 * j, m[j], r);
  }
}

template <Logits kZ, bool kBf16>
void pool_cols_v(const PoolWindow& w, int64_t c0, int64_t c1, float* out) {
  int64_t c = c0;
  for (; c + 16 <= c1; c += 16) pool_chunk<kZ, kBf16, 2>(w, c, 8, out);
  for (; c < c1; c += 8) pool_chunk<kZ, kBf16, 1>(w, c, c1 - c >= 8 ? 8 : c1 - c, out);
}

}  // namespace

void exp_f32_avx2(const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; i += 8) {
    const int64_t rem = n - i >= 8 ? 8 : n - i;
    const __m256i m = lane_mask(rem);
    const __m256 r = exp8<true>(load_z(x + i, rem, m));
    if (rem >= 8)
      _mm256_storeu_ps(y + i, r);
    else
      _mm256_maskstore_ps(y + i, m, r);
  }
}

}  // namespace kcs::opt

#include "optimized/softmax_pool-inl.h"
