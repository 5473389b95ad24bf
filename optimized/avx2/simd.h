// The AVX2 vocabulary of the files in optimized/avx2 (compiled with AVX2/FMA/F16C flags): the
// partial loads and stores, the lane predicates and the reductions here; the rest is
// optimized/simd_ops.h, spelled with this file's KCS_MM / KCS_SI (see optimized/avx512/simd.h).
// Internal linkage throughout, for the reason given in optimized/simd_scalar.h.
#pragma once

#define KCS_ISA avx2
#define KCS_MM(op) _mm256_##op
#define KCS_SI(op) _mm256_##op##_si256
#include "optimized/simd_ops.h"

namespace kcs::opt {
namespace {

constexpr int kVecRegs = 16;  // architectural vector registers

// AVX2 has masked 32-bit loads and stores (vmaskmovps, which neither reads nor faults on masked
// lanes) but no 16-bit ones: short 16-bit steps go through a zero-padded block, so nothing past
// p + m is read or written. loadn_words: the first m words (clamped to [0, words of V]) at p, the
// rest zero; V is VH or VI.
template <class V>
inline V loadn_words(const uint16_t* p, int64_t m) {
  constexpr int64_t kW = sizeof(V) / sizeof(uint16_t);
  alignas(32) uint16_t pad[kW] = {};
  if (m < kW && m > 0) std::memcpy(pad, p, static_cast<size_t>(m) * sizeof(uint16_t));
  V v;
  std::memcpy(&v, m >= kW ? p : pad, sizeof v);
  return v;
}
inline VH loadv_h(const uint16_t* p) { return loadn_words<VH>(p, 8); }
inline VH loadn_h(const uint16_t* p, int64_t m) { return loadn_words<VH>(p, m); }
inline VI loadn_u16(const uint16_t* p, int64_t m) { return loadn_words<VI>(p, m); }
// m (1..8) BF16 values widened; lanes past m are +0.
inline __m256 load_bf16(const uint16_t* p, int64_t m) { return widen_bf16(loadn_h(p, m)); }

// All-ones in the first r lanes.
inline __m256i lanes8(int64_t r) {
  const int m = r <= 0 ? 0 : r >= 8 ? 8 : static_cast<int>(r);
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(m), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}
inline __m256i lane_range(int64_t b, int64_t e) { return _mm256_andnot_si256(lanes8(b), lanes8(e)); }
inline bool whole(int64_t b, int64_t e) { return b <= 0 && e >= 8; }

// "n" / "r" operations as in optimized/avx512/simd.h.
inline VF zero_past(VF v, int64_t r) { return _mm256_and_ps(v, _mm256_castsi256_ps(lanes8(r))); }
inline VI loadn_u32(const void* p, int64_t r) {
  const int* q = static_cast<const int*>(p);
  return r >= 8 ? _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q)) : _mm256_maskload_epi32(q, lanes8(r));
}
inline VF loadr_f32(const float* p, int64_t b, int64_t e) {
  return whole(b, e) ? _mm256_loadu_ps(p) : _mm256_maskload_ps(p, lane_range(b, e));
}
inline void storer_i32(int32_t* p, VI v, int64_t b, int64_t e) {
  if (whole(b, e))
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(p), v);
  else
    _mm256_maskstore_epi32(p, lane_range(b, e), v);
}
inline void storer_u16(uint16_t* p, VH h, int64_t b, int64_t e) {
  if (whole(b, e)) return _mm_storeu_si128(reinterpret_cast<__m128i*>(p), h);
  b = b < 0 ? 0 : b;
  e = e > 8 ? 8 : e;
  if (e <= b) return;
  alignas(16) uint16_t out[8];
  _mm_store_si128(reinterpret_cast<__m128i*>(out), h);
  std::memcpy(p + b, out + b, static_cast<size_t>(e - b) * sizeof(uint16_t));
}
// m (1..8) values rounded to BF16 and stored.
inline void store_bf16(uint16_t* p, __m256 v, int64_t m) { storer_u16(p, narrow_bf16(v), 0, m); }

// No mask registers: a lane predicate is a vector of all-ones / zero dwords; select: a where m,
// else b.
using MI = __m256i;
inline MI gt_i32(VI a, VI b) { return _mm256_cmpgt_epi32(a, b); }
inline VI select_i(MI m, VI a, VI b) { return _mm256_blendv_epi8(b, a, m); }
inline VF select_f(MI m, VF a, VF b) { return _mm256_blendv_ps(b, a, _mm256_castsi256_ps(m)); }
inline MI not_nan(VF v) { return _mm256_castps_si256(_mm256_cmp_ps(v, v, _CMP_ORD_Q)); }
// Dwords < 2^16 as words, < 2^8 as bytes (packus keeps them).
inline VH narrow_u16(VI v) { return _mm_packus_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1)); }
inline __m128i narrow_u8(VI v) { return _mm_packus_epi16(narrow_u16(v), narrow_u16(v)); }

// Lanes by index (vpermd): lane r of the result is lane idx[r] of v.
inline VI permute_u32(VI v, VI idx) { return _mm256_permutevar8x32_epi32(v, idx); }
// v[0..2)'s 2 x 2 matrix of 128-bit lanes transposed: lane g of v[L] <- lane L of v[g].
inline __attribute__((always_inline)) void transpose_lanes(VI* v) {
  const VI t = _mm256_permute2x128_si256(v[0], v[1], 0x20);
  v[1] = _mm256_permute2x128_si256(v[0], v[1], 0x31);
  v[0] = t;
}

// The Q8 rounding of y (clamped to [-128, 127] or NaN) by mode to int32 (the mode an immediate):
// rhaz as in optimized/avx512/simd.h, then a conversion of the integral value (exact).
template <bool kRhaz>
inline VI round_to_i32(VF y) {
  VF r;
  if constexpr (kRhaz) {
    const VF sign = as_f(set1_u32(0x80000000u));
    const VF t = _mm256_round_ps(y, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
    const VF f = _mm256_andnot_ps(sign, sub_f(y, t));
    const VF up = _mm256_cmp_ps(f, set1_f(0.5f), _CMP_GE_OQ);  // false for NaN
    r = add_f(t, _mm256_and_ps(up, _mm256_or_ps(_mm256_and_ps(y, sign), set1_f(1.0f))));
  } else {
    r = _mm256_round_ps(y, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);  // ties to even
  }
  return _mm256_cvttps_epi32(r);
}
// pack_s8's dwords (a0-3 b0-3 c0-3 d0-3 | a4-7 ...), and its qwords (A0 B0 A1 B1), in element order.
inline VI order_dwords(VI p) { return permute_u32(p, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7)); }
inline VI order_qwords(VI p) { return _mm256_permute4x64_epi64(p, _MM_SHUFFLE(3, 1, 2, 0)); }

// The lanes' sum by halves: w = 4, 2, 1.
inline float reduce_tree(VF b) {
  const __m128 d = _mm_add_ps(_mm256_castps256_ps128(b), _mm256_extractf128_ps(b, 1));
  const __m128 e = _mm_add_ps(d, _mm_movehl_ps(d, d));
  return _mm_cvtss_f32(_mm_add_ss(e, _mm_shuffle_ps(e, e, 1)));
}
inline uint32_t hmax_u32(VI v) {
  __m128i q = _mm_max_epu32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  q = _mm_max_epu32(q, _mm_shuffle_epi32(q, _MM_SHUFFLE(1, 0, 3, 2)));
  q = _mm_max_epu32(q, _mm_shuffle_epi32(q, _MM_SHUFFLE(2, 3, 0, 1)));
  return static_cast<uint32_t>(_mm_cvtsi128_si32(q));
}
// The words' max / min folded into one xmm.
inline __m128i fold_max_u16(VI v) { return _mm_max_epu16(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1)); }
inline __m128i fold_min_u16(VI v) { return _mm_min_epu16(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1)); }

}  // namespace
}  // namespace kcs::opt

#include "optimized/simd_common.h"
