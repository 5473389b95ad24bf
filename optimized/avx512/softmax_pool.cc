// Gated softmax pooling (spec §7.4), AVX-512 F/BW: 16 columns per zmm, two zmm per step, the M
// loop inside (two passes: max, then exp and sums), masked column tails. The algorithm and the
// exp are described in optimized/softmax_pool.h; the AVX2 file runs the same IEEE operations.
// Windows of <= 8 positions (the CSA window) keep their logits in registers between the passes;
// longer windows compute them again in pass 2 (the same binary32 add, so the same bits).
//
// Compiled with AVX-512 flags: no inline helper of the kcs headers is called here, all local
// helpers are static / in an anonymous namespace (see optimized/avx512/q8.cc).
#include <cstdint>

#include "optimized/avx512/simd.h"
#include "optimized/softmax_pool.h"
#include "optimized/softmax_pool_consts.h"

namespace kcs::opt {

namespace {

// kHi = false: the caller guarantees x <= 0 or NaN (pooling: x = z - max), so the upper clamp,
// which only acts above 88.75, is left out; the result is the same bits.
template <bool kHi = true>
inline __m512 exp16(__m512 x) {
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

// Row elements [c, c + 16) masked by k, widened exactly to fp32.
template <bool kBf16>
inline __m512 load_row(const void* row, int64_t c, __mmask16 k) {
  if constexpr (kBf16) {
    const __m256i h = _mm256_maskz_loadu_epi16(k, static_cast<const uint16_t*>(row) + c);
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
  } else {
    return _mm512_maskz_loadu_ps(k, static_cast<const float*>(row) + c);
  }
}

// How the logits are given: fp32 rows (z), or score rows (fp32 / BF16) plus bias rows.
enum class Logits { f32, score_f32, score_bf16 };

template <Logits kZ>
inline __m512 load_logit(const PoolWindow& w, int64_t q, int64_t c, __mmask16 k) {
  if constexpr (kZ == Logits::f32) {
    return _mm512_maskz_loadu_ps(k, w.z[q] + c);
  } else {
    const __m512 s = load_row<kZ == Logits::score_bf16>(w.score[q], c, k);
    return _mm512_add_ps(s, _mm512_maskz_loadu_ps(k, w.bias[q] + c));
  }
}

// kVec vectors of 16 columns from column c; the last one masked by `klast`. kW > 0: the window
// has exactly kW <= kPoolBlock positions and its logits stay in registers.
template <Logits kZ, bool kBf16, int kVec, int kW>
void pool_chunk(const PoolWindow& w, int64_t c, __mmask16 klast, float* out) {
  const int64_t M = kW > 0 ? kW : w.M;
  __m512 mx[kVec], den[kVec], acc[kVec];
  __m512 zr[kW > 0 ? kW : 1][kVec];
  __mmask16 k[kVec];
  for (int j = 0; j < kVec; ++j) {
    k[j] = j == kVec - 1 ? klast : __mmask16{0xFFFF};
    mx[j] = _mm512_set1_ps(kNegFill);
  }
  // Pass 1: fmax from -FLT_MAX; max(z, mx) returns mx for a NaN z, so NaN logits are skipped.
  for (int64_t q = 0; q < M; ++q)
    for (int j = 0; j < kVec; ++j) {
      const __m512 z = load_logit<kZ>(w, q, c + 16 * j, k[j]);
      if constexpr (kW > 0) zr[q][j] = z;
      mx[j] = _mm512_max_ps(z, mx[j]);
    }
  // Pass 2 in position order, in blocks of kPoolBlock positions: each block sums into fresh
  // binary32 partials (sd, sa), which are then added to the running totals in block order.
  for (int64_t q0 = 0; q0 < M; q0 += kPoolBlock) {
    const int64_t q1 = q0 + kPoolBlock < M ? q0 + kPoolBlock : M;
    __m512 sd[kVec], sa[kVec];
    for (int j = 0; j < kVec; ++j) sd[j] = sa[j] = _mm512_setzero_ps();
    for (int64_t q = q0; q < q1; ++q)
      for (int j = 0; j < kVec; ++j) {
        __m512 z;
        if constexpr (kW > 0)
          z = zr[q][j];
        else
          z = load_logit<kZ>(w, q, c + 16 * j, k[j]);
        const __m512 e = exp16<false>(_mm512_sub_ps(z, mx[j]));
        sd[j] = _mm512_add_ps(sd[j], e);
        sa[j] = _mm512_fmadd_ps(e, load_row<kBf16>(w.v[q], c + 16 * j, k[j]), sa[j]);
      }
    for (int j = 0; j < kVec; ++j) {
      den[j] = q0 == 0 ? sd[j] : _mm512_add_ps(den[j], sd[j]);
      acc[j] = q0 == 0 ? sa[j] : _mm512_add_ps(acc[j], sa[j]);
    }
  }
  for (int j = 0; j < kVec; ++j) _mm512_mask_storeu_ps(out + c + 16 * j, k[j], _mm512_div_ps(acc[j], den[j]));
}

template <Logits kZ, bool kBf16, int kW>
void pool_cols(const PoolWindow& w, int64_t c0, int64_t c1, float* out) {
  int64_t c = c0;
  for (; c + 32 <= c1; c += 32) pool_chunk<kZ, kBf16, 2, kW>(w, c, 0xFFFF, out);
  for (; c < c1; c += 16) {
    const int64_t rem = c1 - c;
    pool_chunk<kZ, kBf16, 1, kW>(w, c, rem >= 16 ? __mmask16{0xFFFF} : static_cast<__mmask16>((1u << rem) - 1u), out);
  }
}

template <Logits kZ, bool kBf16>
void pool_cols_v(const PoolWindow& w, int64_t c0, int64_t c1, float* out) {
  if (w.M == 8)
    pool_cols<kZ, kBf16, 8>(w, c0, c1, out);
  else if (w.M == 4)
    pool_cols<kZ, kBf16, 4>(w, c0, c1, out);
  else
    pool_cols<kZ, kBf16, 0>(w, c0, c1, out);
}

}  // namespace

void exp_f32_avx512(const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 k = n - i >= 16 ? __mmask16{0xFFFF} : static_cast<__mmask16>((1u << (n - i)) - 1u);
    _mm512_mask_storeu_ps(y + i, k, exp16(_mm512_maskz_loadu_ps(k, x + i)));
  }
}

}  // namespace kcs::opt

#include "optimized/softmax_pool-inl.h"
