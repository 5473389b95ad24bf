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
// The ISA-neutral rest (pass 1, row scales, pass-2 variant choice, entry points) is
// optimized/q8-inl.h, included at the end; the vocabulary is optimized/avx512/simd.h. Pass 2 is
// written per ISA: AVX-512 rounds inside the conversion and stores the tail with a saturating
// masked vpmovsdb, which AVX2 has no counterpart of.
//
// This translation unit is compiled with AVX-512 flags. It deliberately calls no inline helper
// of the kcs headers (fp16_from_float, f32_bits, std::min...): an out-of-line copy of such a
// function emitted here could be the one the linker keeps for the whole program and would then
// carry AVX-512 instructions into code that runs on any CPU.

#include <cstdint>
#include <cstring>

#include "optimized/avx512/simd.h"
#include "optimized/q8.h"

namespace kcs::opt {

namespace {

// 16 consecutive elements widened to binary32 (exact for BF16: shift the bits left by 16).
template <bool kBf16>
inline __m512 load16(const void* x, int64_t j, __mmask16 k) {
  if constexpr (kBf16) {
    const __m256i h = _mm256_maskz_loadu_epi16(k, static_cast<const uint16_t*>(x) + j);
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
  } else {
    return _mm512_maskz_loadu_ps(k, static_cast<const float*>(x) + j);
  }
}

// int32 codes of 16 elements (not yet saturated). Rounding is encoded in the instruction, so the
// result does not depend on MXCSR.RC. kSpecial: the row may produce a NaN y (amax NaN/Inf or s_q
// overflowed); for every other row each y is finite with |y| <= 127.5, so the NaN fix-up is
// skipped there.
template <bool kRhaz, bool kSpecial>
inline __m512i round16(__m512 v, __m512 s_q) {
  const __m512 y0 = _mm512_mul_ps(v, s_q);
  // An overflowed s_q makes y infinite; clamping first gives the reference's sat8 of +-Inf
  // (127 / -128) instead of the conversion's INT_MIN. A NaN y is masked to 0 below.
  const __m512 y = kSpecial ? _mm512_min_ps(_mm512_max_ps(y0, _mm512_set1_ps(-128.0f)), _mm512_set1_ps(127.0f)) : y0;
  __m512i i;
  if constexpr (kRhaz) {
    // rhaz(y) = t + (|y - t| >= 0.5 ? copysign(1, y) : 0) with t = trunc(y). Every step is exact:
    // y - t is (same binade or t == 0) and t +- 1 is an integer below 2^24.
    const __m512 t = _mm512_roundscale_ps(y, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
    const __m512 f = _mm512_abs_ps(_mm512_sub_ps(y, t));
    const __mmask16 up = _mm512_cmp_ps_mask(f, _mm512_set1_ps(0.5f), _CMP_GE_OQ);  // false for NaN
    const __m512 sign_one = _mm512_castsi512_ps(
        _mm512_ternarylogic_epi32(_mm512_castps_si512(y), _mm512_set1_epi32(INT32_MIN),
                                  _mm512_castps_si512(_mm512_set1_ps(1.0f)), 0xEA));  // (y & sign) | 1.0
    i = _mm512_cvttps_epi32(_mm512_mask_add_ps(t, up, t, sign_one));  // integral: truncation is exact
  } else {
    // rint (ties to even) fused into the conversion by embedded rounding; same as roundscale
    // with _MM_FROUND_TO_NEAREST_INT followed by an exact conversion.
    i = _mm512_cvt_roundps_epi32(y, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  }
  // NaN y (0 * Inf, NaN input) would convert to INT_MIN; kcs defines its code as 0.
  if constexpr (kSpecial) i = _mm512_maskz_mov_epi32(_mm512_cmp_ps_mask(y0, y0, _CMP_ORD_Q), i);
  return i;
}

// Pass 2 over one row with a non-zero amax.
template <bool kBf16, bool kRhaz, bool kSpecial>
void quantize_row(const void* x, int64_t n, float s_q_scalar, int8_t* codes) {
  const __m512 s_q = _mm512_set1_ps(s_q_scalar);
  const __mmask16 all = 0xFFFF;
  int64_t j = 0;
  if constexpr (kBf16) {
    // 64 BF16 per step from two 64-byte loads. unpack{lo,hi}(0, x) widen BF16 to binary32 in one
    // instruction (the zero word lands below each BF16 word), in the order
    // {0-3, 8-11, 16-19, 24-27} / {4-7, 12-15, ...}; vpackssdw(lo, hi) undoes that interleave
    // within each 128-bit lane, so the int16 codes come out in element order. vpacksswb of the
    // two halves leaves 8-code groups A0 B0 A1 B1 ..., which vpermq puts back in order.
    const uint16_t* h = static_cast<const uint16_t*>(x);
    const __m512i zero = _mm512_setzero_si512();
    const __m512i order = _mm512_setr_epi64(0, 2, 4, 6, 1, 3, 5, 7);
    for (; j + 64 <= n; j += 64) {
      const __m512i xa = _mm512_loadu_si512(h + j), xb = _mm512_loadu_si512(h + j + 32);
      const __m512i a0 = round16<kRhaz, kSpecial>(_mm512_castsi512_ps(_mm512_unpacklo_epi16(zero, xa)), s_q);
      const __m512i a1 = round16<kRhaz, kSpecial>(_mm512_castsi512_ps(_mm512_unpackhi_epi16(zero, xa)), s_q);
      const __m512i b0 = round16<kRhaz, kSpecial>(_mm512_castsi512_ps(_mm512_unpacklo_epi16(zero, xb)), s_q);
      const __m512i b1 = round16<kRhaz, kSpecial>(_mm512_castsi512_ps(_mm512_unpackhi_epi16(zero, xb)), s_q);
      const __m512i packed = _mm512_packs_epi16(_mm512_packs_epi32(a0, a1), _mm512_packs_epi32(b0, b1));
      _mm512_storeu_si512(codes + j, _mm512_permutexvar_epi64(order, packed));
    }
  } else {
    // vpackssdw / vpacksswb saturate int32 -> int16 -> int8 (= sat8) per 128-bit lane; this
    // permutation puts the four 16-element groups back in order for one 64-byte store.
    const __m512i order = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
    for (; j + 64 <= n; j += 64) {
      const __m512i a = round16<kRhaz, kSpecial>(load16<false>(x, j, all), s_q);
      const __m512i b = round16<kRhaz, kSpecial>(load16<false>(x, j + 16, all), s_q);
      const __m512i c = round16<kRhaz, kSpecial>(load16<false>(x, j + 32, all), s_q);
      const __m512i d = round16<kRhaz, kSpecial>(load16<false>(x, j + 48, all), s_q);
      const __m512i packed = _mm512_packs_epi16(_mm512_packs_epi32(a, b), _mm512_packs_epi32(c, d));
      _mm512_storeu_si512(codes + j, _mm512_permutexvar_epi32(order, packed));
    }
  }
  // Tail: 16 at a time, the last group masked (vpmovsdb saturates like sat8).
  for (; j < n; j += 16) {
    const __mmask16 k = lanes16(n - j);
    _mm512_mask_cvtsepi32_storeu_epi8(codes + j, k, round16<kRhaz, kSpecial>(load16<kBf16>(x, j, k), s_q));
  }
}

}  // namespace
}  // namespace kcs::opt

#include "optimized/q8-inl.h"
