// The AVX-512 vocabulary of the files in optimized/avx512 (compiled with AVX-512 F/BW/VL/DQ/VNNI/
// BF16 flags): what takes a lane mask and the reductions here; the operations that read the same
// on both ISAs are optimized/simd_ops.h, spelled with this file's KCS_MM / KCS_SI. The ISA-neutral
// kernel bodies (optimized/<k>-inl.h) use the names shared with optimized/avx2/simd.h. Internal
// linkage throughout, for the reason given in optimized/simd_scalar.h.
#pragma once

#define KCS_ISA avx512
#define KCS_MM(op) _mm512_##op
#define KCS_SI(op) _mm512_##op##_si512
#include "optimized/simd_ops.h"

namespace kcs::opt {
namespace {

constexpr int kVecRegs = 32;  // architectural vector registers

// Mask of the first r lanes of 16 (none for r <= 0, all for r >= 16), and of lanes [b, e).
inline __mmask16 lanes16(int64_t r) {
  if (r <= 0) return 0;
  return r >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << r) - 1u);
}
inline __mmask16 lane_range(int64_t b, int64_t e) { return static_cast<__mmask16>(lanes16(e) & ~lanes16(b)); }
// A lane predicate is a mask register; select: a where m, else b.
using MI = __mmask16;
inline MI gt_i32(VI a, VI b) { return _mm512_cmpgt_epi32_mask(a, b); }
inline VI select_i(MI m, VI a, VI b) { return _mm512_mask_blend_epi32(m, b, a); }
inline VF select_f(MI m, VF a, VF b) { return _mm512_mask_blend_ps(m, b, a); }
inline MI not_nan(VF v) { return _mm512_cmp_ps_mask(v, v, _CMP_ORD_Q); }
inline VH narrow_u16(VI v) { return _mm512_cvtepi32_epi16(v); }  // dwords < 2^16 as words
inline __m128i narrow_u8(VI v) { return _mm512_cvtepi32_epi8(v); }  // dwords < 2^8 as bytes

// Up to 16 BF16 values widened to binary32; masked lanes +0.
inline __m512 load_bf16(const uint16_t* p, __mmask16 k) { return widen_bf16(_mm256_maskz_loadu_epi16(k, p)); }
inline void store_bf16(uint16_t* p, __m512 v, __mmask16 k) { _mm256_mask_storeu_epi16(p, k, narrow_bf16(v)); }

// "n" operations touch the first r lanes (r clamped to [0, kLanes]), the other lanes read as +0
// and are not written; "r" ones lanes [b, e) of a vector whose lane 0 is at p. A whole vector is
// a plain store: masked stores are much slower on some cores (Zen 4).
inline VF zero_past(VF v, int64_t r) { return _mm512_maskz_mov_ps(lanes16(r), v); }
inline VH loadv_h(const uint16_t* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }
inline VH loadn_h(const uint16_t* p, int64_t r) { return _mm256_maskz_loadu_epi16(lanes16(r), p); }
inline VI loadn_u32(const void* p, int64_t r) { return _mm512_maskz_loadu_epi32(lanes16(r), p); }
// r (clamped to [0, 2·kLanes]) words.
inline VI loadn_u16(const uint16_t* p, int64_t r) {
  const __mmask32 k = r <= 0 ? 0 : r >= 32 ? ~__mmask32{0} : static_cast<__mmask32>((uint32_t{1} << r) - 1u);
  return _mm512_maskz_loadu_epi16(k, p);
}
inline VF loadr_f32(const float* p, int64_t b, int64_t e) { return _mm512_maskz_loadu_ps(lane_range(b, e), p); }
inline void storer_i32(int32_t* p, VI v, int64_t b, int64_t e) {
  const __mmask16 k = lane_range(b, e);
  if (k == 0xFFFF)
    _mm512_storeu_si512(p, v);
  else
    _mm512_mask_storeu_epi32(p, k, v);
}
inline void storer_u16(uint16_t* p, VH h, int64_t b, int64_t e) {
  const __mmask16 k = lane_range(b, e);
  if (k == 0xFFFF)
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(p), h);
  else
    _mm256_mask_storeu_epi16(p, k, h);
}

// Lanes by index (vpermd): lane r of the result is lane idx[r] of v.
inline VI permute_u32(VI v, VI idx) { return _mm512_permutexvar_epi32(idx, v); }
// v[0..4)'s 4 x 4 matrix of 128-bit lanes transposed: lane g of v[L] <- lane L of v[g].
inline __attribute__((always_inline)) void transpose_lanes(VI* v) {
  const VI t0 = _mm512_shuffle_i32x4(v[0], v[1], _MM_SHUFFLE(1, 0, 1, 0));
  const VI t1 = _mm512_shuffle_i32x4(v[2], v[3], _MM_SHUFFLE(1, 0, 1, 0));
  const VI t2 = _mm512_shuffle_i32x4(v[0], v[1], _MM_SHUFFLE(3, 2, 3, 2));
  const VI t3 = _mm512_shuffle_i32x4(v[2], v[3], _MM_SHUFFLE(3, 2, 3, 2));
  v[0] = _mm512_shuffle_i32x4(t0, t1, _MM_SHUFFLE(2, 0, 2, 0));
  v[1] = _mm512_shuffle_i32x4(t0, t1, _MM_SHUFFLE(3, 1, 3, 1));
  v[2] = _mm512_shuffle_i32x4(t2, t3, _MM_SHUFFLE(2, 0, 2, 0));
  v[3] = _mm512_shuffle_i32x4(t2, t3, _MM_SHUFFLE(3, 1, 3, 1));
}

// The Q8 rounding of y (clamped to [-128, 127] or NaN) by mode to int32, encoded in the
// instructions (MXCSR.RC is never read). rhaz(y) = t + (|y - t| >= 0.5 ? copysign(1, y) : 0) with
// t = trunc(y); every step is exact (y - t is, and t +- 1 is an integer below 2^24). Nearest even:
// vcvtps2dq with embedded rounding.
template <bool kRhaz>
inline VI round_to_i32(VF y) {
  if constexpr (!kRhaz) return _mm512_cvt_roundps_epi32(y, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  const VF t = _mm512_roundscale_ps(y, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
  const MI up = _mm512_cmp_ps_mask(_mm512_abs_ps(sub_f(y, t)), set1_f(0.5f), _CMP_GE_OQ);  // false: NaN
  // (y & sign) | 1.0
  const VI sign_one = _mm512_ternarylogic_epi32(as_i(y), set1_u32(0x80000000u), as_i(set1_f(1.0f)), 0xEA);
  return _mm512_cvttps_epi32(_mm512_mask_add_ps(t, up, t, as_f(sign_one)));  // integral: truncation is exact
}
// pack_s8's dwords (a0-3 b0-3 c0-3 d0-3 per 128-bit lane), and its qwords (8-code groups A0 B0 A1
// B1 ...), in element order.
inline VI order_dwords(VI p) { return permute_u32(p, _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15)); }
inline VI order_qwords(VI p) { return _mm512_permutexvar_epi64(_mm512_setr_epi64(0, 2, 4, 6, 1, 3, 5, 7), p); }

// The lanes' sum by halves: w = 8, 4, 2, 1.
inline float reduce_tree(VF b) {
  const __m256 c = _mm256_add_ps(_mm512_castps512_ps256(b), _mm512_extractf32x8_ps(b, 1));
  const __m128 d = _mm_add_ps(_mm256_castps256_ps128(c), _mm256_extractf128_ps(c, 1));
  const __m128 e = _mm_add_ps(d, _mm_movehl_ps(d, d));
  return _mm_cvtss_f32(_mm_add_ss(e, _mm_shuffle_ps(e, e, 1)));
}
inline uint32_t hmax_u32(VI v) { return _mm512_reduce_max_epu32(v); }
// The words' max / min folded into one xmm.
inline __m128i fold_max_u16(VI v) {
  const __m256i h = _mm256_max_epu16(_mm512_castsi512_si256(v), _mm512_extracti64x4_epi64(v, 1));
  return _mm_max_epu16(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));
}
inline __m128i fold_min_u16(VI v) {
  const __m256i h = _mm256_min_epu16(_mm512_castsi512_si256(v), _mm512_extracti64x4_epi64(v, 1));
  return _mm_min_epu16(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));
}

}  // namespace
}  // namespace kcs::opt

#include "optimized/simd_common.h"
