// Q8 quantizer (spec §1.1), AVX2 + F16C (FMA is available but deliberately unused: the spec's
// y = v * s_q is one rounding). Bit-identical to q8_row_reference for every input.
//
// Same two passes as optimized/avx512/q8.cc (see there for the full argument):
//   1. amax = integer max of |bit pattern| (NaN beats Inf);
//   2. y = v * s_q, round by mode, cvttps2dq on the now integral value, NaN -> 0 explicitly
//      (only in rows that can produce a NaN y: NaN/Inf amax or an overflowed s_q),
//      vpackssdw + vpacksswb saturate to int8 (= sat8; +-Inf y -> INT_MIN -> -128 as the
//      reference computes on x86).
// AVX2 has no masked 16-bit loads, so a row tail (< one block) is copied into a zero-padded
// stack block and its codes copied back out: nothing past the row is ever read or written.
// MXCSR is never touched (rounding modes are immediates; no DAZ/FTZ).
//
// The ISA-neutral rest (pass 1, row scales, pass-2 variant choice, entry points) is
// optimized/q8-inl.h, included at the end; the vocabulary is optimized/avx2/simd.h.
//
// Like the AVX-512 file, this one calls no inline helper of the kcs headers: an out-of-line copy
// emitted here (compiled with -mavx2) could be kept by the linker for the whole program.

#include <cstdint>
#include <cstring>
#include <type_traits>

#include "optimized/avx2/simd.h"
#include "optimized/q8.h"

namespace kcs::opt {

namespace {

// int32 codes of 8 elements (not yet saturated). kSpecial: the row may produce a NaN y (amax
// NaN/Inf or s_q overflowed); in every other row each y is finite with |y| <= 127.5, so the
// NaN fix-up is skipped there.
template <bool kRhaz, bool kSpecial>
inline __m256i round8(__m256 v, __m256 s_q) {
  const __m256 y0 = _mm256_mul_ps(v, s_q);
  // An overflowed s_q makes y infinite; clamping first gives the reference's sat8 of +-Inf
  // (127 / -128) instead of cvttps2dq's INT_MIN. A NaN y is masked to 0 below.
  const __m256 y = kSpecial ? _mm256_min_ps(_mm256_max_ps(y0, _mm256_set1_ps(-128.0f)), _mm256_set1_ps(127.0f)) : y0;
  const __m256 sign = _mm256_castsi256_ps(_mm256_set1_epi32(INT32_MIN));
  __m256 r;
  if constexpr (kRhaz) {
    // rhaz(y) = t + (|y - t| >= 0.5 ? copysign(1, y) : 0), t = trunc(y); every step is exact.
    const __m256 t = _mm256_round_ps(y, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
    const __m256 f = _mm256_andnot_ps(sign, _mm256_sub_ps(y, t));
    const __m256 up = _mm256_cmp_ps(f, _mm256_set1_ps(0.5f), _CMP_GE_OQ);  // false for NaN
    const __m256 sign_one = _mm256_or_ps(_mm256_and_ps(y, sign), _mm256_set1_ps(1.0f));
    r = _mm256_add_ps(t, _mm256_and_ps(up, sign_one));
  } else {
    r = _mm256_round_ps(y, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);  // ties to even
  }
  __m256i i = _mm256_cvttps_epi32(r);  // r is integral: truncation is exact
  // NaN y would give INT_MIN; kcs defines its code as 0.
  if constexpr (kSpecial) i = _mm256_and_si256(i, _mm256_castps_si256(_mm256_cmp_ps(y0, y0, _CMP_ORD_Q)));
  return i;
}

// 32 codes from x[j, j + 32). vpackssdw/vpacksswb saturate (= sat8) within 128-bit lanes; a
// permutation restores element order.
template <bool kBf16, bool kRhaz, bool kSpecial>
inline __m256i codes32(const void* x, int64_t j, __m256 s_q) {
  if constexpr (kBf16) {
    // unpack{lo,hi}(0, x) widen BF16 to binary32 in one instruction, in the order {0-3, 8-11} /
    // {4-7, 12-15}; vpackssdw(lo, hi) undoes that within each lane (int16 codes in element
    // order), vpacksswb leaves 8-code groups A0 B0 A1 B1 and vpermq puts them in order.
    const uint16_t* h = static_cast<const uint16_t*>(x) + j;
    const __m256i zero = _mm256_setzero_si256();
    const __m256i xa = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(h));
    const __m256i xb = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(h + 16));
    const __m256i a0 = round8<kRhaz, kSpecial>(_mm256_castsi256_ps(_mm256_unpacklo_epi16(zero, xa)), s_q);
    const __m256i a1 = round8<kRhaz, kSpecial>(_mm256_castsi256_ps(_mm256_unpackhi_epi16(zero, xa)), s_q);
    const __m256i b0 = round8<kRhaz, kSpecial>(_mm256_castsi256_ps(_mm256_unpacklo_epi16(zero, xb)), s_q);
    const __m256i b1 = round8<kRhaz, kSpecial>(_mm256_castsi256_ps(_mm256_unpackhi_epi16(zero, xb)), s_q);
    const __m256i packed = _mm256_packs_epi16(_mm256_packs_epi32(a0, a1), _mm256_packs_epi32(b0, b1));
    return _mm256_permute4x64_epi64(packed, _MM_SHUFFLE(3, 1, 2, 0));
  } else {
    const float* f = static_cast<const float*>(x) + j;
    const __m256i a = round8<kRhaz, kSpecial>(_mm256_loadu_ps(f), s_q);
    const __m256i b = round8<kRhaz, kSpecial>(_mm256_loadu_ps(f + 8), s_q);
    const __m256i c = round8<kRhaz, kSpecial>(_mm256_loadu_ps(f + 16), s_q);
    const __m256i d = round8<kRhaz, kSpecial>(_mm256_loadu_ps(f + 24), s_q);
    // Dwords after the packs: a0-3 b0-3 c0-3 d0-3 | a4-7 b4-7 c4-7 d4-7.
    const __m256i packed = _mm256_packs_epi16(_mm256_packs_epi32(a, b), _mm256_packs_epi32(c, d));
    return _mm256_permutevar8x32_epi32(packed, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
  }
}

template <bool kBf16, bool kRhaz, bool kSpecial>
void quantize_row(const void* x, int64_t n, float s_q_scalar, int8_t* codes) {
  const __m256 s_q = _mm256_set1_ps(s_q_scalar);
  int64_t j = 0;
  for (; j + 32 <= n; j += 32)
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(codes + j), codes32<kBf16, kRhaz, kSpecial>(x, j, s_q));
  if (j < n) {
    // Zero padding quantizes to 0 (or NaN -> 0) and is dropped on the way out.
    using Elem = typename std::conditional<kBf16, uint16_t, float>::type;
    alignas(32) Elem pad[32] = {};
    alignas(32) int8_t out[32];
    const size_t r = static_cast<size_t>(n - j);
    std::memcpy(pad, static_cast<const Elem*>(x) + j, r * sizeof(Elem));
    _mm256_store_si256(reinterpret_cast<__m256i*>(out), codes32<kBf16, kRhaz, kSpecial>(pad, 0, s_q));
    std::memcpy(codes + j, out, r);
  }
}

}  // namespace
}  // namespace kcs::opt

#include "optimized/q8-inl.h"
