// The AVX-512 vocabulary of the files in optimized/avx512 (compiled with AVX-512 F/BW/VL/DQ/VNNI/
// BF16 flags). Internal linkage throughout, for the reason given in optimized/simd_scalar.h.
// The ISA-neutral kernel bodies (optimized/<k>-inl.h) are written against the names shared with
// optimized/avx2/simd.h.
#pragma once

// GCC 12's intrinsic headers initialise "undefined" vectors as `__m512i __Y = __Y;`, which C++
// -Wall (it implies -Winit-self) reports as uninitialised at every inlined use (GCC PR 105593).
// The locations are inside the header, so silencing them around the include is enough.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop

#include "optimized/simd_scalar.h"

#define KCS_ISA avx512

namespace kcs::opt {
namespace {

// Mask of the first r lanes of 16 (none for r <= 0, all for r >= 16).
inline __mmask16 lanes16(int64_t r) {
  if (r <= 0) return 0;
  return r >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << r) - 1u);
}

// Up to 16 BF16 values widened to binary32 (exact: the bits shifted left by 16); masked lanes +0.
inline __m512 load_bf16(const uint16_t* p, __mmask16 k) {
  return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(k, p)), 16));
}

// BF16 round to nearest even (integer rounding, subnormals kept, NaN -> sign|0x7FC0), the result
// in the low word of each dword.
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

// round_bf16 as 16 packed words.
inline __m256i narrow_bf16(__m512 v) { return _mm512_cvtepi32_epi16(round_bf16(v)); }

inline void store_bf16(uint16_t* p, __m512 v, __mmask16 k) { _mm256_mask_storeu_epi16(p, k, narrow_bf16(v)); }

// The vocabulary of the ISA-neutral bodies: a vector of kLanes binary32 lanes; "n" operations
// touch the first r lanes (r clamped to [0, kLanes]), the other lanes read as +0 and are not
// written.
using VF = __m512;
constexpr int kLanes = 16;
inline VF zero_f() { return _mm512_setzero_ps(); }
inline VF set1_f(float x) { return _mm512_set1_ps(x); }
inline VF add_f(VF a, VF b) { return _mm512_add_ps(a, b); }
inline VF sub_f(VF a, VF b) { return _mm512_sub_ps(a, b); }
inline VF mul_f(VF a, VF b) { return _mm512_mul_ps(a, b); }
inline VF div_f(VF a, VF b) { return _mm512_div_ps(a, b); }
inline VF fmadd_f(VF a, VF b, VF c) { return _mm512_fmadd_ps(a, b, c); }
// The second operand when one is NaN (vmaxps).
inline VF max_f(VF a, VF b) { return _mm512_max_ps(a, b); }
inline VF zero_past(VF v, int64_t r) { return _mm512_maskz_mov_ps(lanes16(r), v); }
inline VF loadn_f32(const float* p, int64_t r) { return _mm512_maskz_loadu_ps(lanes16(r), p); }
inline void storen_f32(float* p, VF v, int64_t r) { _mm512_mask_storeu_ps(p, lanes16(r), v); }
inline VF loadn_bf16(const uint16_t* p, int64_t r) { return load_bf16(p, lanes16(r)); }
inline void storen_bf16(uint16_t* p, VF v, int64_t r) { store_bf16(p, v, lanes16(r)); }
// Rounded to FP16 by F16C's nearest even (subnormals kept).
inline void storen_fp16(uint16_t* p, VF v, int64_t r) {
  _mm256_mask_storeu_epi16(p, lanes16(r), _mm512_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
}

// kLanes dwords (the BF16 pairs of R-V2 / R-PAIR), and the words of each as binary32.
using VI = __m512i;
inline VI loadn_u32(const void* p, int64_t r) { return _mm512_maskz_loadu_epi32(lanes16(r), p); }
inline void storen_u32(void* p, VI v, int64_t r) { _mm512_mask_storeu_epi32(p, lanes16(r), v); }
inline VF widen_lo(VI dw) { return _mm512_castsi512_ps(_mm512_slli_epi32(dw, 16)); }
inline VF widen_hi(VI dw) {
  return _mm512_castsi512_ps(_mm512_and_si512(dw, _mm512_set1_epi32(static_cast<int>(0xFFFF0000u))));
}
// (bf16(hi) << 16) | bf16(lo) per dword.
inline VI pack_bf16_pairs(VF lo, VF hi) {
  return _mm512_or_si512(round_bf16(lo), _mm512_slli_epi32(round_bf16(hi), 16));
}
inline VF neg_f(VF v) {
  return _mm512_castsi512_ps(_mm512_xor_si512(_mm512_castps_si512(v), _mm512_set1_epi32(INT32_MIN)));
}

// Whole vectors, and lanes [b, e) of a vector stored at p (lane 0's address; b, e clamped to
// [0, kLanes]). A whole vector is a plain store: masked stores are much slower on some cores (Zen 4).
inline VF loadv_f32(const float* p) { return _mm512_loadu_ps(p); }
inline void storev_f32(float* p, VF v) { _mm512_storeu_ps(p, v); }
inline VI loadv_u32(const void* p) { return _mm512_loadu_si512(p); }
inline VI set1_u32(uint32_t x) { return _mm512_set1_epi32(static_cast<int>(x)); }
inline __mmask16 lane_range(int64_t b, int64_t e) { return static_cast<__mmask16>(lanes16(e) & ~lanes16(b)); }
inline void storer_f32(float* p, VF v, int64_t b, int64_t e) {
  const __mmask16 k = lane_range(b, e);
  if (k == 0xFFFF)
    _mm512_storeu_ps(p, v);
  else
    _mm512_mask_storeu_ps(p, k, v);
}
inline void storev_u32(void* p, VI v) { _mm512_storeu_si512(p, v); }
inline VF loadr_f32(const float* p, int64_t b, int64_t e) { return _mm512_maskz_loadu_ps(lane_range(b, e), p); }
inline void storer_i32(int32_t* p, VI v, int64_t b, int64_t e) {
  const __mmask16 k = lane_range(b, e);
  if (k == 0xFFFF)
    _mm512_storeu_si512(p, v);
  else
    _mm512_mask_storeu_epi32(p, k, v);
}
// kLanes 16-bit values: FP16 (F16C nearest even), BF16 with gemm_bf16's NaN rule (quietened,
// payload kept: (bits >> 16) | 0x40; round_bf16 gives sign|0x7FC0).
using VH = __m256i;
inline void storer_u16(uint16_t* p, VH h, int64_t b, int64_t e) {
  const __mmask16 k = lane_range(b, e);
  if (k == 0xFFFF)
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(p), h);
  else
    _mm256_mask_storeu_epi16(p, k, h);
}
inline VH to_fp16(VF v) { return _mm512_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
inline VH to_bf16_quiet(VF x) {
  const __m512i u = _mm512_castps_si512(x);
  const __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(1));
  __m512i r = _mm512_srli_epi32(_mm512_add_epi32(u, _mm512_add_epi32(lsb, _mm512_set1_epi32(0x7FFF))), 16);
  const __mmask16 nan =
      _mm512_cmpgt_epu32_mask(_mm512_and_si512(u, _mm512_set1_epi32(0x7FFFFFFF)), _mm512_set1_epi32(0x7F800000));
  r = _mm512_mask_or_epi32(r, nan, _mm512_srli_epi32(u, 16), _mm512_set1_epi32(0x40));
  return _mm512_cvtepi32_epi16(r);
}

// The lanes' sum by halves: w = 8, 4, 2, 1.
inline float reduce_tree(VF b) {
  const __m256 c = _mm256_add_ps(_mm512_castps512_ps256(b), _mm512_extractf32x8_ps(b, 1));
  const __m128 d = _mm_add_ps(_mm256_castps256_ps128(c), _mm256_extractf128_ps(c, 1));
  const __m128 e = _mm_add_ps(d, _mm_movehl_ps(d, d));
  return _mm_cvtss_f32(_mm_add_ss(e, _mm_shuffle_ps(e, e, 1)));
}

}  // namespace
}  // namespace kcs::opt

#include "optimized/simd_common.h"
