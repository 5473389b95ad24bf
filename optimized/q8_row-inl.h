// The Q8 quantizer's passes over one row (spec §1.1), ISA-neutral, internal linkage; used by the
// entry points of optimized/q8-inl.h and by the K3 score path's cache rows. Bit-identical to
// q8_row_reference for every input:
//   1. amax = integer max of |bit pattern| (exact; any NaN beats Inf, as q8_amax defines it);
//   2. y = v * s_q (one binary32 multiply, never FMA), round by mode (the ISA's round_to_i32,
//      rounding encoded in the instructions), convert to int32, saturate to int8. For a valid row
//      |y| <= 127.5, so the reference's int32 -> fp16 -> trunc -> int8 chain is sat8(i). Only rows
//      with a NaN/Inf amax or an overflowed s_q can produce a non-finite y; they alone run the
//      variant that maps NaN -> 0 (kcs convention) and +-Inf -> sat8 as the reference on x86.
// s_q = 127/a and s_dq = 1/s_q are scalar true divisions, once per row. MXCSR is never touched.
#pragma once

#include <cstdint>
#include <cstring>
#include <type_traits>

#include "optimized/q8.h"

namespace kcs::opt {
namespace {

// Pass 1: the integer max of |bit pattern| (exact; any NaN beats Inf, as q8_amax defines it) as
// binary32 bits. BF16 is the top half of a binary32, so the max of |bf16 bits| << 16 is the max
// of the widened |bits|; for FP32 |bits| < 2^31, so the unsigned max is the float order with NaN
// on top. The tail's loads are masked or zero-padded (zeros cannot raise the max): nothing past
// the row is read.
template <class T>
inline uint32_t amax_bits(const T* x, int64_t n) {
  constexpr bool k16 = sizeof(T) == 2;
  constexpr int64_t kW = k16 ? 2 * kLanes : kLanes;  // elements per vector
  const auto vmax = [](VI a, VI b) { return k16 ? max_u16(a, b) : max_u32(a, b); };
  const VI abs_mask = k16 ? set1_u16(0x7FFF) : set1_u32(0x7FFFFFFF);
  VI m0 = set1_u32(0), m1 = m0;
  int64_t j = 0;
  for (; j + 4 * kW <= n; j += 4 * kW) {
    m0 = vmax(m0, and_i(loadv_u32(x + j), abs_mask));
    m1 = vmax(m1, and_i(loadv_u32(x + j + kW), abs_mask));
    m0 = vmax(m0, and_i(loadv_u32(x + j + 2 * kW), abs_mask));
    m1 = vmax(m1, and_i(loadv_u32(x + j + 3 * kW), abs_mask));
  }
  for (; j < n; j += kW) {
    if constexpr (k16)
      m0 = vmax(m0, and_i(loadn_u16(x + j, n - j), abs_mask));
    else
      m0 = vmax(m0, and_i(loadn_u32(x + j, n - j), abs_mask));
  }
  return k16 ? hmax_u16(vmax(m0, m1)) << 16 : hmax_u32(vmax(m0, m1));
}

// int32 codes of kLanes elements (not yet saturated). kSpecial: the row may produce a NaN y (amax
// NaN/Inf or s_q overflowed); in every other row each y is finite with |y| <= 127.5, so the NaN
// fix-up is skipped there.
template <bool kRhaz, bool kSpecial>
inline VI round_codes(VF v, VF s_q) {
  const VF y0 = mul_f(v, s_q);
  if constexpr (!kSpecial) return round_to_i32<kRhaz>(y0);
  // An overflowed s_q makes y infinite; clamping first gives the reference's sat8 of +-Inf
  // (127 / -128) instead of the conversion's INT_MIN. A NaN y (0 * Inf, NaN input) would convert
  // to INT_MIN too; kcs defines its code as 0.
  const VI i = round_to_i32<kRhaz>(min_f(max_f(y0, set1_f(-128.0f)), set1_f(127.0f)));
  return select_i(not_nan(y0), i, set1_u32(0));
}

// 4·kLanes codes from x[j, j + 4·kLanes) in element order: vpackssdw / vpacksswb saturate
// int32 -> int16 -> int8 (= sat8) per 128-bit lane, order_* put the lanes back in order.
template <bool kBf16, bool kRhaz, bool kSpecial>
inline VI codes_block(const void* x, int64_t j, VF s_q) {
  const auto q = [&](VF v) { return round_codes<kRhaz, kSpecial>(v, s_q); };
  if constexpr (kBf16) {
    // zip_*_bf16 widen BF16 to binary32 in one instruction, in the order {0-3, 8-11, ...} /
    // {4-7, 12-15, ...}; vpackssdw(lo, hi) undoes that within each 128-bit lane (int16 codes in
    // element order), vpacksswb leaves 8-code groups A0 B0 A1 B1 ...
    const uint16_t* h = static_cast<const uint16_t*>(x) + j;
    const VI a = loadv_u32(h), b = loadv_u32(h + 2 * kLanes);
    return order_qwords(pack_s8(q(zip_lo_bf16(a)), q(zip_hi_bf16(a)), q(zip_lo_bf16(b)), q(zip_hi_bf16(b))));
  } else {
    const float* f = static_cast<const float*>(x) + j;
    return order_dwords(
        pack_s8(q(loadv_f32(f)), q(loadv_f32(f + kLanes)), q(loadv_f32(f + 2 * kLanes)), q(loadv_f32(f + 3 * kLanes))));
  }
}

// Pass 2 over one row with a non-zero amax.
template <bool kBf16, bool kRhaz, bool kSpecial>
void quantize_row(const void* x, int64_t n, float s_q_scalar, int8_t* codes) {
  constexpr int64_t kB = 4 * kLanes;  // codes per step
  const VF s_q = set1_f(s_q_scalar);
  int64_t j = 0;
  for (; j + kB <= n; j += kB) storev_u32(codes + j, codes_block<kBf16, kRhaz, kSpecial>(x, j, s_q));
  if (j < n) {
    // The tail in a zero-padded block, whose zeros quantize to 0 (or NaN -> 0) and are dropped on
    // the way out: nothing past the row is read or written.
    using Elem = std::conditional_t<kBf16, uint16_t, float>;
    alignas(64) Elem pad[kB] = {};
    alignas(64) int8_t out[kB];
    const size_t r = static_cast<size_t>(n - j);
    std::memcpy(pad, static_cast<const Elem*>(x) + j, r * sizeof(Elem));
    storev_u32(out, codes_block<kBf16, kRhaz, kSpecial>(pad, 0, s_q));
    std::memcpy(codes + j, out, r);
  }
}

// Steps 1 (floor), 2 and 5 in scalar binary32, exactly as q8_row_reference writes them.
// Returns false for a zero amax (codes 0, s_dq = +0 by kcs definition).
inline bool row_scales(uint32_t amax_bits, const Q8Params& p, float* s_q, float* s_dq) {
  float a = float_of(amax_bits);
  if (p.floor && a < kQ8Floor) a = kQ8Floor;  // false for NaN, as the reference's test
  if (a == 0.0f) {
    *s_q = 0.0f;
    *s_dq = 0.0f;
    return false;
  }
  *s_q = 127.0f / a;
  *s_dq = 1.0f / *s_q;
  return true;
}

template <bool kBf16>
float q8_row(const void* x, int64_t n, const Q8Params& p, int8_t* codes) {
  const uint32_t amax =
      kBf16 ? amax_bits(static_cast<const uint16_t*>(x), n) : amax_bits(static_cast<const float*>(x), n);
  float s_q, s_dq;
  if (!row_scales(amax, p, &s_q, &s_dq)) {
    std::memset(codes, 0, static_cast<size_t>(n));
    return s_dq;
  }
  // A NaN y needs a NaN/Inf amax or an overflowed s_q (amax < 127/FLT_MAX, out of contract);
  // such rows take the variant with the NaN -> 0 fix-up.
  const bool special = amax >= 0x7F800000u || bits_of(s_q) >= 0x7F800000u;
  if (p.rmode == Round::rhaz) {
    if (special)
      quantize_row<kBf16, true, true>(x, n, s_q, codes);
    else
      quantize_row<kBf16, true, false>(x, n, s_q, codes);
  } else {
    if (special)
      quantize_row<kBf16, false, true>(x, n, s_q, codes);
    else
      quantize_row<kBf16, false, false>(x, n, s_q, codes);
  }
  return s_dq;
}

}  // namespace
}  // namespace kcs::opt
