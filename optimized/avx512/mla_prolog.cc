// K2 MLA Prolog (spec §4.3 steps 6 and 8), AVX-512 F/BW/VL: R-V2 on strided slices with a BF16
// half-duplicated table, reading qb's rope slices (and kv's rope columns) in place and writing
// query_rope_out (and kr) directly. The binary32 formula is the rope engine's (optimized/rope.h),
// element for element, so this equals rope_tokens_avx512 / _avx2 bit for bit.
//
// 16 (even, odd) BF16 pairs are one 512-bit load of 16 dwords: the even element is the low word
// (<< 16 widens it), the odd one the high word (& 0xFFFF0000): the de-interleave for free.
// Like the other ISA files, this one calls no inline helper of the kcs headers.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop

#include <cstdint>

#include "optimized/mla_prolog.h"

namespace kcs::opt {

namespace {

inline __mmask16 lanes16(int64_t r) {
  if (r <= 0) return 0;
  return r >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << r) - 1u);
}

inline __m512 widen_lo(__m512i dw) { return _mm512_castsi512_ps(_mm512_slli_epi32(dw, 16)); }
inline __m512 widen_hi(__m512i dw) {
  return _mm512_castsi512_ps(_mm512_and_si512(dw, _mm512_set1_epi32(static_cast<int>(0xFFFF0000u))));
}

inline __m512 load_bf16(const uint16_t* p, __mmask16 k) {
  return widen_lo(_mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(k, p)));
}

// BF16 round to nearest even (integer rounding, subnormals kept, NaN -> sign|0x7FC0).
inline __m512i round_bf16(__m512 v) {
  const __m512i u = _mm512_castps_si512(v);
  const __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(1));
  const __m512i r = _mm512_srli_epi32(_mm512_add_epi32(u, _mm512_add_epi32(lsb, _mm512_set1_epi32(0x7FFF))), 16);
  const __mmask16 nan =
      _mm512_cmpgt_epu32_mask(_mm512_and_si512(u, _mm512_set1_epi32(0x7FFFFFFF)), _mm512_set1_epi32(0x7F800000));
  const __m512i qnan =
      _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(0x8000)), _mm512_set1_epi32(0x7FC0));
  return _mm512_mask_blend_epi32(nan, r, qnan);
}

inline void store_bf16(uint16_t* p, __m512 v, __mmask16 k) {
  _mm256_mask_storeu_epi16(p, k, _mm512_cvtepi32_epi16(round_bf16(v)));
}

inline __m512 neg(__m512 v) {
  return _mm512_castsi512_ps(_mm512_xor_si512(_mm512_castps_si512(v), _mm512_set1_epi32(INT32_MIN)));
}

// One slice: x' = de-interleave(x); y_lo = x'_lo·c_lo + (−x'_hi)·s_lo; y_hi = x'_hi·c_hi + (x'_lo + 0)·s_hi.
void rope_v2_slice(const uint16_t* x, uint16_t* y, int64_t h, const uint16_t* c, const uint16_t* s) {
  const __m512 zero = _mm512_setzero_ps();
  for (int64_t j = 0; j < h; j += 16) {
    const __mmask16 k = lanes16(h - j);
    const __m512i dw = _mm512_maskz_loadu_epi32(k, x + 2 * j);
    const __m512 xa = widen_lo(dw), xb = widen_hi(dw);
    const __m512 c_lo = load_bf16(c + j, k), s_lo = load_bf16(s + j, k);
    const __m512 c_hi = load_bf16(c + h + j, k), s_hi = load_bf16(s + h + j, k);
    const __m512 y_lo = _mm512_add_ps(_mm512_mul_ps(xa, c_lo), _mm512_mul_ps(neg(xb), s_lo));
    const __m512 y_hi = _mm512_add_ps(_mm512_mul_ps(xb, c_hi), _mm512_mul_ps(_mm512_add_ps(xa, zero), s_hi));
    store_bf16(y + j, y_lo, k);
    store_bf16(y + h + j, y_hi, k);
  }
}

}  // namespace

void mla_rope_v2_avx512(const MlaRopeArgs& a, int64_t t0, int64_t t1) {
  const int64_t h = a.R / 2;
  for (int64_t i = t0; i < t1; ++i) {
    const uint16_t* c = a.cos + i * a.R;
    const uint16_t* s = a.sin + i * a.R;
    for (int64_t hd = 0; hd < a.heads; ++hd)
      rope_v2_slice(a.x + i * a.x_tok + hd * a.x_head, a.y + i * a.y_tok + hd * a.y_head, h, c, s);
  }
}

}  // namespace kcs::opt
