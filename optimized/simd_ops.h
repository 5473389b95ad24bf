// The vector vocabulary's part that reads the same on both ISAs, written once with the including
// file's intrinsic prefix: KCS_MM(add_ps) is _mm512_add_ps in optimized/avx512/simd.h and
// _mm256_add_ps in optimized/avx2/simd.h, KCS_SI(and) is _mm512_and_si512 / _mm256_and_si256.
// Included by those two first; internal linkage (see optimized/simd_scalar.h).
#pragma once

#include <cstdint>

#include "optimized/simd_scalar.h"

namespace kcs::opt {
namespace {

// The ISA's types, named by what its intrinsics return: kLanes binary32 lanes (VF), kLanes dwords
// or 2·kLanes words (VI), kLanes 16-bit values (VH).
using VF = decltype(KCS_MM(setzero_ps)());
using VI = decltype(KCS_SI(setzero)());
using VH = decltype(KCS_MM(cvtps_ph)(VF(), 0));
constexpr int kLanes = static_cast<int>(sizeof(VF) / sizeof(float));
// The same bits as the other type (a GCC vector cast, as the cast intrinsics are written).
inline VF as_f(VI v) { return (VF)v; }
inline VI as_i(VF v) { return (VI)v; }

inline VF zero_f() { return KCS_MM(setzero_ps)(); }
inline VF set1_f(float x) { return KCS_MM(set1_ps)(x); }
inline VF add_f(VF a, VF b) { return KCS_MM(add_ps)(a, b); }
inline VF sub_f(VF a, VF b) { return KCS_MM(sub_ps)(a, b); }
inline VF mul_f(VF a, VF b) { return KCS_MM(mul_ps)(a, b); }
inline VF div_f(VF a, VF b) { return KCS_MM(div_ps)(a, b); }
inline VF fmadd_f(VF a, VF b, VF c) { return KCS_MM(fmadd_ps)(a, b, c); }
inline VF fnmadd_f(VF a, VF b, VF c) { return KCS_MM(fnmadd_ps)(a, b, c); }  // c - a·b, one rounding
// The second operand when one is NaN (vmaxps, vminps).
inline VF max_f(VF a, VF b) { return KCS_MM(max_ps)(a, b); }
inline VF min_f(VF a, VF b) { return KCS_MM(min_ps)(a, b); }
inline VF cvt_i32_f(VI v) { return KCS_MM(cvtepi32_ps)(v); }
inline VF loadv_f32(const float* p) { return KCS_MM(loadu_ps)(p); }
inline void storev_f32(float* p, VF v) { KCS_MM(storeu_ps)(p, v); }

inline VI loadv_u32(const void* p) { return KCS_SI(loadu)(static_cast<const VI*>(p)); }
inline void storev_u32(void* p, VI v) { KCS_SI(storeu)(static_cast<VI*>(p), v); }
inline VI set1_u32(uint32_t x) { return KCS_MM(set1_epi32)(static_cast<int>(x)); }
inline VI set1_u16(uint16_t x) { return KCS_MM(set1_epi16)(static_cast<short>(x)); }
inline VI and_i(VI a, VI b) { return KCS_SI(and)(a, b); }
inline VI or_i(VI a, VI b) { return KCS_SI(or)(a, b); }
inline VI xor_i(VI a, VI b) { return KCS_SI(xor)(a, b); }
inline VI add_i(VI a, VI b) { return KCS_MM(add_epi32)(a, b); }
inline VI sub_i(VI a, VI b) { return KCS_MM(sub_epi32)(a, b); }
template <int n> inline VI shl_u32(VI v) { return KCS_MM(slli_epi32)(v, n); }
template <int n> inline VI shr_u32(VI v) { return KCS_MM(srli_epi32)(v, n); }
template <int n> inline VI shl_u16(VI v) { return KCS_MM(slli_epi16)(v, n); }
template <int n> inline VI sar_i16(VI v) { return KCS_MM(srai_epi16)(v, n); }  // arithmetic
inline VI shlv_u32(VI v, VI n) { return KCS_MM(sllv_epi32)(v, n); }
inline VI shrv_u32(VI v, VI n) { return KCS_MM(srlv_epi32)(v, n); }
inline VI max_u32(VI a, VI b) { return KCS_MM(max_epu32)(a, b); }
inline VI max_i32(VI a, VI b) { return KCS_MM(max_epi32)(a, b); }
inline VI max_u16(VI a, VI b) { return KCS_MM(max_epu16)(a, b); }
inline VI min_u16(VI a, VI b) { return KCS_MM(min_epu16)(a, b); }
inline VI sub_u16(VI a, VI b) { return KCS_MM(sub_epi16)(a, b); }  // wraps
// Within each 128-bit lane: the dwords / qwords of a and b interleaved (vpunpck{l,h}{dq,qdq}), and
// the dwords picked by shufps's immediate (two of a, then two of b).
inline VI zip_lo_u32(VI a, VI b) { return KCS_MM(unpacklo_epi32)(a, b); }
inline VI zip_hi_u32(VI a, VI b) { return KCS_MM(unpackhi_epi32)(a, b); }
inline VI zip_lo_u64(VI a, VI b) { return KCS_MM(unpacklo_epi64)(a, b); }
inline VI zip_hi_u64(VI a, VI b) { return KCS_MM(unpackhi_epi64)(a, b); }
template <int imm> inline VI shuffle_u32(VI a, VI b) { return as_i(KCS_MM(shuffle_ps)(as_f(a), as_f(b), imm)); }

// Widening (exact: BF16 is the top half of a binary32; vcvtph2ps keeps FP16 subnormals) and the
// words of a dword as binary32 (the BF16 pairs of R-V2 / R-PAIR).
inline VF widen_bf16(VH h) { return as_f(shl_u32<16>(KCS_MM(cvtepu16_epi32)(h))); }
inline VF widen_fp16(VH h) { return KCS_MM(cvtph_ps)(h); }
inline VF widen_lo(VI dw) { return as_f(shl_u32<16>(dw)); }
inline VF widen_hi(VI dw) { return as_f(and_i(dw, set1_u32(0xFFFF0000u))); }
// The words of each 128-bit lane's low / high half as the top halves of dwords: BF16 widened,
// interleaved (vpunpck{l,h}wd with zero).
inline VF zip_lo_bf16(VI v) { return as_f(KCS_MM(unpacklo_epi16)(set1_u32(0), v)); }
inline VF zip_hi_bf16(VI v) { return as_f(KCS_MM(unpackhi_epi16)(set1_u32(0), v)); }
// Four int32 vectors saturated to int8 (vpackssdw, vpacksswb), interleaved per 128-bit lane: a0-3
// b0-3 c0-3 d0-3 in lane 0, and so on.
inline VI pack_s8(VI a, VI b, VI c, VI d) {
  return KCS_MM(packs_epi16)(KCS_MM(packs_epi32)(a, b), KCS_MM(packs_epi32)(c, d));
}
inline VF neg_f(VF v) { return as_f(xor_i(as_i(v), set1_u32(0x80000000u))); }

// Defined in optimized/simd_common.h, over the ISA's lane predicates.
inline VH narrow_bf16(VF v);
// F16C's nearest even (subnormals kept).
inline VH to_fp16(VF v) { return KCS_MM(cvtps_ph)(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }

}  // namespace
}  // namespace kcs::opt
