// The AVX2 vocabulary of the files in optimized/avx2 (compiled with AVX2/FMA/F16C flags).
// Internal linkage throughout, for the reason given in optimized/simd_scalar.h. The ISA-neutral
// kernel bodies (optimized/<k>-inl.h) are written against the names shared with
// optimized/avx512/simd.h.
#pragma once

// GCC 12's intrinsic headers initialise "undefined" vectors as `__m256i __Y = __Y;` (GCC PR
// 105593); see optimized/avx512/simd.h.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop

#include "optimized/simd_scalar.h"

#define KCS_ISA avx2

namespace kcs::opt {
namespace {

// 8 BF16 values widened to binary32 (exact: the bits shifted left by 16).
inline __m256 load_bf16(const uint16_t* p) {
  const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}

// m (1..8) BF16 values widened; lanes past m are +0 (AVX2 has no masked 16-bit loads: a short
// step goes through a zero-padded block, so nothing past p + m is read).
inline __m256 load_bf16(const uint16_t* p, int64_t m) {
  __m128i h;
  if (m >= 8) {
    h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  } else {
    alignas(16) uint16_t pad[8] = {};
    std::memcpy(pad, p, static_cast<size_t>(m) * sizeof(uint16_t));
    h = _mm_load_si128(reinterpret_cast<const __m128i*>(pad));
  }
  return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}

// BF16 round to nearest even (integer rounding, subnormals kept, NaN -> sign|0x7FC0), the result
// in the low word of each dword.
inline __m256i round_bf16(__m256 v) {
  const __m256i u = _mm256_castps_si256(v);
  const __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(1));
  const __m256i r = _mm256_srli_epi32(_mm256_add_epi32(u, _mm256_add_epi32(lsb, _mm256_set1_epi32(0x7FFF))), 16);
  // |bits| < 2^31, so the signed compare orders them as unsigned.
  const __m256i nan =
      _mm256_cmpgt_epi32(_mm256_and_si256(u, _mm256_set1_epi32(0x7FFFFFFF)), _mm256_set1_epi32(0x7F800000));
  const __m256i qnan = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(0x8000)),
                                       _mm256_set1_epi32(0x7FC0));
  return _mm256_blendv_epi8(r, qnan, nan);
}

// round_bf16 as 8 packed words in a xmm (values <= 0xFFFF, so packus keeps them).
inline __m128i narrow_bf16(__m256 v) {
  const __m256i b = round_bf16(v);
  return _mm_packus_epi32(_mm256_castsi256_si128(b), _mm256_extracti128_si256(b, 1));
}

// m (1..8) values rounded to BF16 and stored; nothing past p + m is written.
inline void store_bf16(uint16_t* p, __m256 v, int64_t m) {
  const __m128i w = narrow_bf16(v);
  if (m >= 8) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(p), w);
    return;
  }
  alignas(16) uint16_t out[8];
  _mm_store_si128(reinterpret_cast<__m128i*>(out), w);
  std::memcpy(p, out, static_cast<size_t>(m) * sizeof(uint16_t));
}

// The vocabulary of the ISA-neutral bodies (see optimized/avx512/simd.h). AVX2 has masked 32-bit
// loads and stores (vmaskmovps, which neither reads nor faults on masked lanes) but no 16-bit
// ones: short 16-bit steps go through the zero-padded blocks above.
using VF = __m256;
constexpr int kLanes = 8;
inline VF zero_f() { return _mm256_setzero_ps(); }
inline VF set1_f(float x) { return _mm256_set1_ps(x); }
inline VF add_f(VF a, VF b) { return _mm256_add_ps(a, b); }
inline VF sub_f(VF a, VF b) { return _mm256_sub_ps(a, b); }
inline VF mul_f(VF a, VF b) { return _mm256_mul_ps(a, b); }
inline VF div_f(VF a, VF b) { return _mm256_div_ps(a, b); }
inline VF fmadd_f(VF a, VF b, VF c) { return _mm256_fmadd_ps(a, b, c); }
// The second operand when one is NaN (vmaxps).
inline VF max_f(VF a, VF b) { return _mm256_max_ps(a, b); }
// All-ones in the first r lanes.
inline __m256i lanes8(int64_t r) {
  const int m = r <= 0 ? 0 : r >= 8 ? 8 : static_cast<int>(r);
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(m), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}
inline VF zero_past(VF v, int64_t r) { return _mm256_and_ps(v, _mm256_castsi256_ps(lanes8(r))); }
inline VF loadn_f32(const float* p, int64_t r) {
  return r >= 8 ? _mm256_loadu_ps(p) : _mm256_maskload_ps(p, lanes8(r));
}
inline void storen_f32(float* p, VF v, int64_t r) {
  if (r >= 8)
    _mm256_storeu_ps(p, v);
  else
    _mm256_maskstore_ps(p, lanes8(r), v);
}
inline VF loadn_bf16(const uint16_t* p, int64_t r) { return r <= 0 ? _mm256_setzero_ps() : load_bf16(p, r); }
inline void storen_bf16(uint16_t* p, VF v, int64_t r) {
  if (r > 0) store_bf16(p, v, r);
}
// Rounded to FP16 by F16C's nearest even (subnormals kept).
inline void storen_fp16(uint16_t* p, VF v, int64_t r) {
  const __m128i h = _mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  if (r >= 8) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(p), h);
  } else if (r > 0) {
    alignas(16) uint16_t out[8];
    _mm_store_si128(reinterpret_cast<__m128i*>(out), h);
    std::memcpy(p, out, static_cast<size_t>(r) * sizeof(uint16_t));
  }
}

// kLanes dwords (the BF16 pairs of R-V2 / R-PAIR), and the words of each as binary32.
using VI = __m256i;
inline VI loadn_u32(const void* p, int64_t r) {
  const int* q = static_cast<const int*>(p);
  return r >= 8 ? _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q)) : _mm256_maskload_epi32(q, lanes8(r));
}
inline void storen_u32(void* p, VI v, int64_t r) {
  if (r >= 8)
    _mm256_storeu_si256(static_cast<__m256i*>(p), v);
  else
    _mm256_maskstore_epi32(static_cast<int*>(p), lanes8(r), v);
}
inline VF widen_lo(VI dw) { return _mm256_castsi256_ps(_mm256_slli_epi32(dw, 16)); }
inline VF widen_hi(VI dw) {
  return _mm256_castsi256_ps(_mm256_and_si256(dw, _mm256_set1_epi32(static_cast<int>(0xFFFF0000u))));
}
// (bf16(hi) << 16) | bf16(lo) per dword.
inline VI pack_bf16_pairs(VF lo, VF hi) {
  return _mm256_or_si256(round_bf16(lo), _mm256_slli_epi32(round_bf16(hi), 16));
}
inline VF neg_f(VF v) {
  return _mm256_castsi256_ps(_mm256_xor_si256(_mm256_castps_si256(v), _mm256_set1_epi32(INT32_MIN)));
}

// Whole vectors, and lanes [b, e) of a vector stored at p (lane 0's address; b, e clamped to
// [0, kLanes]).
inline VF loadv_f32(const float* p) { return _mm256_loadu_ps(p); }
inline void storev_f32(float* p, VF v) { _mm256_storeu_ps(p, v); }
inline VI loadv_u32(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }
inline VI set1_u32(uint32_t x) { return _mm256_set1_epi32(static_cast<int>(x)); }
inline void storer_f32(float* p, VF v, int64_t b, int64_t e) {
  if (b <= 0 && e >= 8)
    _mm256_storeu_ps(p, v);
  else
    _mm256_maskstore_ps(p, _mm256_andnot_si256(lanes8(b), lanes8(e)), v);
}
inline void storev_u32(void* p, VI v) { _mm256_storeu_si256(static_cast<__m256i*>(p), v); }
inline VF loadr_f32(const float* p, int64_t b, int64_t e) {
  return b <= 0 && e >= 8 ? _mm256_loadu_ps(p) : _mm256_maskload_ps(p, _mm256_andnot_si256(lanes8(b), lanes8(e)));
}
inline void storer_i32(int32_t* p, VI v, int64_t b, int64_t e) {
  if (b <= 0 && e >= 8)
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(p), v);
  else
    _mm256_maskstore_epi32(p, _mm256_andnot_si256(lanes8(b), lanes8(e)), v);
}
// kLanes 16-bit values: FP16 (F16C nearest even), BF16 with gemm_bf16's NaN rule (quietened,
// payload kept: (bits >> 16) | 0x40; round_bf16 gives sign|0x7FC0).
using VH = __m128i;
inline void storer_u16(uint16_t* p, VH h, int64_t b, int64_t e) {
  if (b <= 0 && e >= 8) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(p), h);
    return;
  }
  b = b < 0 ? 0 : b;
  e = e > 8 ? 8 : e;
  if (e <= b) return;
  alignas(16) uint16_t out[8];
  _mm_store_si128(reinterpret_cast<__m128i*>(out), h);
  std::memcpy(p + b, out + b, static_cast<size_t>(e - b) * sizeof(uint16_t));
}
inline VH to_fp16(VF v) { return _mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
inline VH to_bf16_quiet(VF x) {
  const __m256i u = _mm256_castps_si256(x);
  const __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(1));
  const __m256i r = _mm256_srli_epi32(_mm256_add_epi32(u, _mm256_add_epi32(lsb, _mm256_set1_epi32(0x7FFF))), 16);
  // |bits| < 2^31, so the signed compare orders them as unsigned.
  const __m256i nan =
      _mm256_cmpgt_epi32(_mm256_and_si256(u, _mm256_set1_epi32(0x7FFFFFFF)), _mm256_set1_epi32(0x7F800000));
  const __m256i q = _mm256_or_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(0x40));
  const __m256i d = _mm256_blendv_epi8(r, q, nan);
  return _mm_packus_epi32(_mm256_castsi256_si128(d), _mm256_extracti128_si256(d, 1));  // each < 2^16
}

// The lanes' sum by halves: w = 4, 2, 1.
inline float reduce_tree(VF b) {
  const __m128 d = _mm_add_ps(_mm256_castps256_ps128(b), _mm256_extractf128_ps(b, 1));
  const __m128 e = _mm_add_ps(d, _mm_movehl_ps(d, d));
  return _mm_cvtss_f32(_mm_add_ss(e, _mm_shuffle_ps(e, e, 1)));
}

}  // namespace
}  // namespace kcs::opt

#include "optimized/simd_common.h"
