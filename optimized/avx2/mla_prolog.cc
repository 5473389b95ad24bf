// K2 MLA Prolog (spec §4.3 steps 6 and 8), AVX2: R-V2 on strided slices with a BF16
// half-duplicated table, reading qb's rope slices (and kv's rope columns) in place and writing
// query_rope_out (and kr) directly. The binary32 formula is the rope engine's (optimized/rope.h),
// element for element, so this equals rope_tokens_avx2 / _avx512 bit for bit.
// 8 (even, odd) BF16 pairs are one 256-bit load of 8 dwords (low word even, high word odd).
// Like the other ISA files, this one calls no inline helper of the kcs headers.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop

#include <cstdint>
#include <cstring>

#include "optimized/mla_prolog.h"

namespace kcs::opt {

namespace {

inline __m256 widen_lo(__m256i dw) { return _mm256_castsi256_ps(_mm256_slli_epi32(dw, 16)); }
inline __m256 widen_hi(__m256i dw) {
  return _mm256_castsi256_ps(_mm256_and_si256(dw, _mm256_set1_epi32(static_cast<int>(0xFFFF0000u))));
}

// m (1..8) BF16 values widened; lanes past m are +0.
inline __m256 load_bf16(const uint16_t* p, int64_t m) {
  __m128i h;
  if (m >= 8) {
    h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  } else {
    alignas(16) uint16_t pad[8] = {};
    std::memcpy(pad, p, static_cast<size_t>(m) * sizeof(uint16_t));
    h = _mm_load_si128(reinterpret_cast<const __m128i*>(pad));
  }
  return widen_lo(_mm256_cvtepu16_epi32(h));
}

// m (1..8) dwords = m BF16 pairs.
inline __m256i load_pairs(const uint16_t* p, int64_t m) {
  if (m >= 8) return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
  alignas(32) uint32_t pad[8] = {};
  std::memcpy(pad, p, static_cast<size_t>(m) * sizeof(uint32_t));
  return _mm256_load_si256(reinterpret_cast<const __m256i*>(pad));
}

// BF16 round to nearest even (integer rounding, subnormals kept, NaN -> sign|0x7FC0).
inline __m256i round_bf16(__m256 v) {
  const __m256i u = _mm256_castps_si256(v);
  const __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(1));
  const __m256i r = _mm256_srli_epi32(_mm256_add_epi32(u, _mm256_add_epi32(lsb, _mm256_set1_epi32(0x7FFF))), 16);
  const __m256i nan =
      _mm256_cmpgt_epi32(_mm256_and_si256(u, _mm256_set1_epi32(0x7FFFFFFF)), _mm256_set1_epi32(0x7F800000));
  const __m256i qnan = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(0x8000)),
                                       _mm256_set1_epi32(0x7FC0));
  return _mm256_blendv_epi8(r, qnan, nan);
}

inline void store_bf16(uint16_t* p, __m256 v, int64_t m) {
  const __m256i b = round_bf16(v);
  const __m128i w = _mm_packus_epi32(_mm256_castsi256_si128(b), _mm256_extracti128_si256(b, 1));
  if (m >= 8) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(p), w);
  } else {
    alignas(16) uint16_t out[8];
    _mm_store_si128(reinterpret_cast<__m128i*>(out), w);
    std::memcpy(p, out, static_cast<size_t>(m) * sizeof(uint16_t));
  }
}

inline __m256 neg(__m256 v) {
  return _mm256_castsi256_ps(_mm256_xor_si256(_mm256_castps_si256(v), _mm256_set1_epi32(INT32_MIN)));
}

void rope_v2_slice(const uint16_t* x, uint16_t* y, int64_t h, const uint16_t* c, const uint16_t* s) {
  const __m256 zero = _mm256_setzero_ps();
  for (int64_t j = 0; j < h; j += 8) {
    const int64_t m = h - j < 8 ? h - j : 8;
    const __m256i dw = load_pairs(x + 2 * j, m);
    const __m256 xa = widen_lo(dw), xb = widen_hi(dw);
    const __m256 c_lo = load_bf16(c + j, m), s_lo = load_bf16(s + j, m);
    const __m256 c_hi = load_bf16(c + h + j, m), s_hi = load_bf16(s + h + j, m);
    const __m256 y_lo = _mm256_add_ps(_mm256_mul_ps(xa, c_lo), _mm256_mul_ps(neg(xb), s_lo));
    const __m256 y_hi = _mm256_add_ps(_mm256_mul_ps(xb, c_hi), _mm256_mul_ps(_mm256_add_ps(xa, zero), s_hi));
    store_bf16(y + j, y_lo, m);
    store_bf16(y + h + j, y_hi, m);
  }
}

}  // namespace

void mla_rope_v2_avx2(const MlaRopeArgs& a, int64_t t0, int64_t t1) {
  const int64_t h = a.R / 2;
  for (int64_t i = t0; i < t1; ++i) {
    const uint16_t* c = a.cos + i * a.R;
    const uint16_t* s = a.sin + i * a.R;
    for (int64_t hd = 0; hd < a.heads; ++hd)
      rope_v2_slice(a.x + i * a.x_tok + hd * a.x_head, a.y + i * a.y_tok + hd * a.y_head, h, c, s);
  }
}

}  // namespace kcs::opt
