// Q8 quantizer (spec §1.1), AVX-512 F/BW/VL. Bit-identical to q8_row_reference for every input.
//
// Two passes per row, as spec §13 recommends:
//   1. amax = integer max of |bit pattern| (exact; any NaN beats Inf, as q8_amax defines it);
//   2. y = v * s_q (one binary32 multiply, never FMA), round by mode, convert to int32, saturate
//      to int8. For a valid row |y| <= 127.5, so the reference's int32 -> fp16 -> trunc -> int8
//      chain is sat8(i). The non-finite y are handled to match the reference too: NaN -> 0
//      explicitly (kcs convention), and +-Inf (only when s_q overflowed, an out-of-contract row)
//      -> cvt gives INT_MIN -> saturates to -128, which is what the reference computes on x86.
//      Only rows with a NaN/Inf amax or an overflowed s_q can produce a NaN y, so only they run
//      the variant with the NaN fix-up; in all others |y| <= 127.5.
// s_q = 127/a and s_dq = 1/s_q are scalar true divisions (never rcp14), once per row.
// MXCSR is never touched: rounding modes are encoded in the instructions and subnormal inputs
// go through the multiply as IEEE says (no DAZ/FTZ).
//
// The ISA-neutral rest (the passes, row scales, pass-2 variant choice, entry points) is
// optimized/q8-inl.h, included at the end; the vocabulary is optimized/avx512/simd.h. The rounding
// is written per ISA: AVX-512 rounds inside the conversion (embedded rounding, vpternlogd), which
// AVX2 has no counterpart of.
//
// This translation unit is compiled with AVX-512 flags. It deliberately calls no inline helper
// of the kcs headers (fp16_from_float, f32_bits, std::min...): an out-of-line copy of such a
// function emitted here could be the one the linker keeps for the whole program and would then
// carry AVX-512 instructions into code that runs on any CPU.

#include <cstdint>

#include "optimized/avx512/simd.h"
#include "optimized/q8.h"

namespace kcs::opt {

namespace {

// y (clamped to [-128, 127] or NaN) rounded by mode to int32. The rounding is encoded in the
// instructions, so the result does not depend on MXCSR.RC.
template <bool kRhaz>
inline __m512i round_to_i32(__m512 y) {
  if constexpr (kRhaz) {
    // rhaz(y) = t + (|y - t| >= 0.5 ? copysign(1, y) : 0) with t = trunc(y). Every step is exact:
    // y - t is (same binade or t == 0) and t +- 1 is an integer below 2^24.
    const __m512 t = _mm512_roundscale_ps(y, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
    const __m512 f = _mm512_abs_ps(_mm512_sub_ps(y, t));
    const __mmask16 up = _mm512_cmp_ps_mask(f, _mm512_set1_ps(0.5f), _CMP_GE_OQ);  // false for NaN
    const __m512 sign_one = _mm512_castsi512_ps(
        _mm512_ternarylogic_epi32(_mm512_castps_si512(y), _mm512_set1_epi32(INT32_MIN),
                                  _mm512_castps_si512(_mm512_set1_ps(1.0f)), 0xEA));  // (y & sign) | 1.0
    return _mm512_cvttps_epi32(_mm512_mask_add_ps(t, up, t, sign_one));  // integral: truncation is exact
  } else {
    // rint (ties to even) fused into the conversion by embedded rounding; same as roundscale
    // with _MM_FROUND_TO_NEAREST_INT followed by an exact conversion.
    return _mm512_cvt_roundps_epi32(y, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  }
}

// The dwords of pack_s8 (a0-3 b0-3 c0-3 d0-3 per 128-bit lane), and its qwords (8-code groups
// A0 B0 A1 B1 ...), in element order.
inline __m512i order_dwords(__m512i p) {
  return _mm512_permutexvar_epi32(_mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15), p);
}
inline __m512i order_qwords(__m512i p) { return _mm512_permutexvar_epi64(_mm512_setr_epi64(0, 2, 4, 6, 1, 3, 5, 7), p); }

}  // namespace
}  // namespace kcs::opt

#include "optimized/q8-inl.h"
