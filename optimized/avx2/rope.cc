// RoPE (spec §1.3), AVX2 (FMA and F16C deliberately unused). The binary32 formulas are in
// optimized/rope.h; this file computes every element exactly as there (and as the AVX-512 file),
// 8 values of each rope half per step. The same dword trick de-interleaves R-V2 / R-PAIR pairs
// (even = low word << 16, odd = high word & 0xFFFF0000). AVX2 has no masked 16-bit loads or
// stores: a step with fewer than 8 values goes through zero-padded stack blocks, so nothing past
// a slice or table row is read or written.
//
// Like the other ISA files, this one calls no inline helper of the kcs headers.
#include <cstdint>
#include <cstring>

#include "optimized/avx2/simd.h"
#include "optimized/rope.h"

namespace kcs::opt {

namespace {

inline __m256 widen_lo(__m256i dw) { return _mm256_castsi256_ps(_mm256_slli_epi32(dw, 16)); }
inline __m256 widen_hi(__m256i dw) {
  return _mm256_castsi256_ps(_mm256_and_si256(dw, _mm256_set1_epi32(static_cast<int>(0xFFFF0000u))));
}

// m (1..8) dwords = m BF16 pairs.
inline __m256i load_pairs(const uint16_t* p, int64_t m) {
  if (m >= 8) return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
  alignas(32) uint32_t pad[8] = {};
  std::memcpy(pad, p, static_cast<size_t>(m) * sizeof(uint32_t));
  return _mm256_load_si256(reinterpret_cast<const __m256i*>(pad));
}

template <bool kF32>
inline __m256 load_table(const void* row, int64_t col, int64_t m) {
  if (!kF32) return load_bf16(static_cast<const uint16_t*>(row) + col, m);
  const float* p = static_cast<const float*>(row) + col;
  if (m >= 8) return _mm256_loadu_ps(p);
  alignas(32) float pad[8] = {};
  std::memcpy(pad, p, static_cast<size_t>(m) * sizeof(float));
  return _mm256_load_ps(pad);
}

inline __m256 neg(__m256 v) {
  return _mm256_castsi256_ps(_mm256_xor_si256(_mm256_castps_si256(v), _mm256_set1_epi32(INT32_MIN)));
}

template <bool kV2, bool kF32>
void rope_half(const uint16_t* x, uint16_t* y, int64_t h, const void* crow, const void* srow, int64_t hi_col) {
  const __m256 zero = _mm256_setzero_ps();
  for (int64_t j = 0; j < h; j += 8) {
    const int64_t m = h - j < 8 ? h - j : 8;
    __m256 xa, xb;
    if (kV2) {
      const __m256i dw = load_pairs(x + 2 * j, m);
      xa = widen_lo(dw);
      xb = widen_hi(dw);
    } else {
      xa = load_bf16(x + j, m);
      xb = load_bf16(x + h + j, m);
    }
    const __m256 c_lo = load_table<kF32>(crow, j, m), s_lo = load_table<kF32>(srow, j, m);
    const __m256 c_hi = load_table<kF32>(crow, hi_col + j, m), s_hi = load_table<kF32>(srow, hi_col + j, m);
    const __m256 y_lo = _mm256_add_ps(_mm256_mul_ps(xa, c_lo), _mm256_mul_ps(neg(xb), s_lo));
    const __m256 y_hi = _mm256_add_ps(_mm256_mul_ps(xb, c_hi), _mm256_mul_ps(_mm256_add_ps(xa, zero), s_hi));
    store_bf16(y + j, y_lo, m);
    store_bf16(y + h + j, y_hi, m);
  }
}

template <bool kF32>
void rope_pair(const uint16_t* x, uint16_t* y, int64_t h, const void* crow, const void* srow) {
  for (int64_t p = 0; p < h; p += 8) {
    const int64_t m = h - p < 8 ? h - p : 8;
    const __m256i dw = load_pairs(x + 2 * p, m);
    const __m256 e = widen_lo(dw), o = widen_hi(dw);
    const __m256 c = load_table<kF32>(crow, p, m), s = load_table<kF32>(srow, p, m);
    const __m256 ye = _mm256_sub_ps(_mm256_mul_ps(e, c), _mm256_mul_ps(o, s));
    const __m256 yo = _mm256_add_ps(_mm256_mul_ps(e, s), _mm256_mul_ps(o, c));
    const __m256i packed = _mm256_or_si256(round_bf16(ye), _mm256_slli_epi32(round_bf16(yo), 16));
    if (m >= 8) {
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(y + 2 * p), packed);
    } else {
      alignas(32) uint32_t out[8];
      _mm256_store_si256(reinterpret_cast<__m256i*>(out), packed);
      std::memcpy(y + 2 * p, out, static_cast<size_t>(m) * sizeof(uint32_t));
    }
  }
}

}  // namespace
}  // namespace kcs::opt

#include "optimized/rope-inl.h"
