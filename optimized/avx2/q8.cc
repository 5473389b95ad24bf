// Q8 quantizer (spec §1.1), AVX2 + F16C (FMA is available but deliberately unused: the spec's
// y = v * s_q is one rounding). Bit-identical to q8_row_reference for every input.
//
// Same two passes as optimized/avx512/q8.cc (see there for the full argument):
//   1. amax = integer max of |bit pattern| (NaN beats Inf);
//   2. y = v * s_q, round by mode, cvttps2dq on the now integral value, NaN -> 0 explicitly
//      (only in rows that can produce a NaN y: NaN/Inf amax or an overflowed s_q),
//      vpackssdw + vpacksswb saturate to int8 (= sat8; +-Inf y -> INT_MIN -> -128 as the
//      reference computes on x86).
// MXCSR is never touched (rounding modes are immediates; no DAZ/FTZ).
//
// The ISA-neutral rest (the passes, row scales, pass-2 variant choice, entry points) is
// optimized/q8-inl.h, included at the end; the vocabulary is optimized/avx2/simd.h. The rounding
// is written per ISA (AVX2 rounds with vroundps, then converts).
//
// Like the AVX-512 file, this one calls no inline helper of the kcs headers: an out-of-line copy
// emitted here (compiled with -mavx2) could be kept by the linker for the whole program.

#include <cstdint>

#include "optimized/avx2/simd.h"
#include "optimized/q8.h"

namespace kcs::opt {

namespace {

// y (clamped to [-128, 127] or NaN) rounded by mode to int32 (the mode is an immediate).
template <bool kRhaz>
inline __m256i round_to_i32(__m256 y) {
  __m256 r;
  if constexpr (kRhaz) {
    // rhaz(y) = t + (|y - t| >= 0.5 ? copysign(1, y) : 0), t = trunc(y); every step is exact.
    const __m256 sign = _mm256_castsi256_ps(_mm256_set1_epi32(INT32_MIN));
    const __m256 t = _mm256_round_ps(y, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
    const __m256 f = _mm256_andnot_ps(sign, _mm256_sub_ps(y, t));
    const __m256 up = _mm256_cmp_ps(f, _mm256_set1_ps(0.5f), _CMP_GE_OQ);  // false for NaN
    const __m256 sign_one = _mm256_or_ps(_mm256_and_ps(y, sign), _mm256_set1_ps(1.0f));
    r = _mm256_add_ps(t, _mm256_and_ps(up, sign_one));
  } else {
    r = _mm256_round_ps(y, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);  // ties to even
  }
  return _mm256_cvttps_epi32(r);  // r is integral: truncation is exact
}

// The dwords of pack_s8 (a0-3 b0-3 c0-3 d0-3 | a4-7 b4-7 c4-7 d4-7), and its qwords (8-code groups
// A0 B0 A1 B1), in element order.
inline __m256i order_dwords(__m256i p) { return _mm256_permutevar8x32_epi32(p, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7)); }
inline __m256i order_qwords(__m256i p) { return _mm256_permute4x64_epi64(p, _MM_SHUFFLE(3, 1, 2, 0)); }

}  // namespace
}  // namespace kcs::opt

#include "optimized/q8-inl.h"
