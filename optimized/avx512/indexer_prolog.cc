// K1 indexer_prolog, AVX-512 pieces: the direct (unpacked) BF16 GEMM of decode tiles and the
// weights epilogue. Definitions and the exact operation order in optimized/indexer_prolog.h.
// Compiled with AVX-512 flags: no inline helpers of shared headers here (see optimized/avx512/q8.cc).
#include <cstdint>
#include <cstring>

#include "optimized/avx512/simd.h"
#include "optimized/indexer_prolog.h"

namespace kcs::opt {

namespace {

constexpr int kNb = 4;  // 16-column vectors per column block (64 columns)

inline float widen(uint16_t b) {
  const uint32_t u = static_cast<uint32_t>(b) << 16;
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

// Rows [r0, r0 + MR) x one column block [c, c + 64) (masks for the tail), all of K.
template <int MR>
void block(const Bf16Direct& g, int64_t r0, int64_t c, int64_t n0, const __mmask16 (&mk)[kNb]) {
  const int64_t K = g.k;
  const int64_t kb = g.k_block > 0 ? (g.k_block + 1) / 2 * 2 : (K + 1) / 2 * 2;
  for (int64_t k0 = 0; k0 < K; k0 += kb) {
    const int64_t k1 = k0 + kb < K ? k0 + kb : K;
    __m512 acc[MR][kNb];
    for (int r = 0; r < MR; ++r)
      for (int j = 0; j < kNb; ++j) acc[r][j] = _mm512_setzero_ps();
    for (int64_t k = k0; k < k1; k += 2) {
      const bool odd = k + 1 < K;  // false: the zero pad of an odd K
      __m512 a1[MR], a0[MR];
      for (int r = 0; r < MR; ++r) {
        const uint16_t* ar = g.a + (r0 + r) * g.lda;
        a1[r] = _mm512_set1_ps(odd ? widen(ar[k + 1]) : 0.0f);
        a0[r] = _mm512_set1_ps(widen(ar[k]));
      }
      const uint16_t* w0 = g.w + k * g.ldw + c;
      const uint16_t* w1 = w0 + g.ldw;
      for (int j = 0; j < kNb; ++j) {
        if (!mk[j]) continue;
        const __m512 wo = odd ? load_bf16(w1 + 16 * j, mk[j]) : _mm512_setzero_ps();
        for (int r = 0; r < MR; ++r) acc[r][j] = _mm512_fmadd_ps(a1[r], wo, acc[r][j]);
        const __m512 we = load_bf16(w0 + 16 * j, mk[j]);
        for (int r = 0; r < MR; ++r) acc[r][j] = _mm512_fmadd_ps(a0[r], we, acc[r][j]);
      }
    }
    for (int r = 0; r < MR; ++r) {
      float* y = g.y + (r0 + r) * g.ldy + (c - n0);
      for (int j = 0; j < kNb; ++j) {
        if (!mk[j]) continue;
        __m512 v = acc[r][j];
        if (k0 > 0) v = _mm512_add_ps(_mm512_maskz_loadu_ps(mk[j], y + 16 * j), v);
        _mm512_mask_storeu_ps(y + 16 * j, mk[j], v);
      }
    }
  }
}

}  // namespace

void ip_bf16_direct_avx512(const Bf16Direct& g, int64_t n0, int64_t n1) {
  if (g.m <= 0 || n1 <= n0) return;
  for (int64_t c = n0; c < n1; c += 16 * kNb) {
    __mmask16 mk[kNb];
    for (int j = 0; j < kNb; ++j) {
      const int64_t left = n1 - (c + 16 * j);
      mk[j] = left >= 16 ? static_cast<__mmask16>(0xFFFF)
                         : left <= 0 ? static_cast<__mmask16>(0) : static_cast<__mmask16>((1u << left) - 1u);
    }
    int64_t r = 0;
    for (; r + 4 <= g.m; r += 4) block<4>(g, r, c, n0, mk);
    switch (g.m - r) {
      case 3: block<3>(g, r, c, n0, mk); break;
      case 2: block<2>(g, r, c, n0, mk); break;
      case 1: block<1>(g, r, c, n0, mk); break;
      default: break;
    }
  }
}

void ip_weights_avx512(const uint16_t* wb, int64_t n, float c, uint16_t* out) {
  const __m512 cv = _mm512_set1_ps(c);
  for (int64_t j = 0; j < n; j += 16) {
    const int64_t left = n - j;
    const __mmask16 m = left >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << left) - 1u);
    const __m512 v = _mm512_mul_ps(load_bf16(wb + j, m), cv);
    _mm256_mask_storeu_epi16(out + j, m, _mm512_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
  }
}

}  // namespace kcs::opt
