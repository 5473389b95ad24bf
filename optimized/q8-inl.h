// The ISA-neutral part of the Q8 quantizer (spec §1.1): pass 1, the per-row scales, the choice of
// pass-2 variant and the entry points q8_rows_<isa> / q8_row_f32_<isa>. Included at the end of
// optimized/avx512/q8.cc and optimized/avx2/q8.cc, each of which first defines, in its anonymous
// namespace, pass 2:
//   template <bool kBf16, bool kRhaz, bool kSpecial>
//   void quantize_row(const void* x, int64_t n, float s_q, int8_t* codes).
#pragma once

#include <cstdint>
#include <cstring>

#include "optimized/q8.h"

namespace kcs::opt {
namespace {

// Pass 1: the integer max of |bit pattern| (exact; any NaN beats Inf, as q8_amax defines it) as
// binary32 bits. BF16 is the top half of a binary32, so the max of |bf16 bits| << 16 is the max
// of the widened |bits|; for FP32 |bits| < 2^31, so the unsigned max is the float order with NaN
// on top. The tail's loads are masked or zero-padded (zeros cannot raise the max): nothing past
// the row is read.
inline uint32_t amax_bits_bf16(const uint16_t* x, int64_t n) {
  constexpr int64_t kW = 2 * kLanes;  // words per vector
  const VI abs_mask = set1_u16(0x7FFF);
  VI m0 = set1_u32(0), m1 = m0;
  int64_t j = 0;
  for (; j + 4 * kW <= n; j += 4 * kW) {
    m0 = max_u16(m0, and_i(loadv_u32(x + j), abs_mask));
    m1 = max_u16(m1, and_i(loadv_u32(x + j + kW), abs_mask));
    m0 = max_u16(m0, and_i(loadv_u32(x + j + 2 * kW), abs_mask));
    m1 = max_u16(m1, and_i(loadv_u32(x + j + 3 * kW), abs_mask));
  }
  for (; j < n; j += kW) m0 = max_u16(m0, and_i(loadn_u16(x + j, n - j), abs_mask));
  return hmax_u16(max_u16(m0, m1)) << 16;
}

inline uint32_t amax_bits_f32(const float* x, int64_t n) {
  const VI abs_mask = set1_u32(0x7FFFFFFF);
  VI m0 = set1_u32(0), m1 = m0;
  int64_t j = 0;
  for (; j + 2 * kLanes <= n; j += 2 * kLanes) {
    m0 = max_u32(m0, and_i(loadv_u32(x + j), abs_mask));
    m1 = max_u32(m1, and_i(loadv_u32(x + j + kLanes), abs_mask));
  }
  for (; j < n; j += kLanes) m0 = max_u32(m0, and_i(loadn_u32(x + j, n - j), abs_mask));
  return hmax_u32(max_u32(m0, m1));
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
  const uint32_t amax = kBf16 ? amax_bits_bf16(static_cast<const uint16_t*>(x), n)
                              : amax_bits_f32(static_cast<const float*>(x), n);
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

void KCS_ISA_FN(q8_rows)(const Q8Rows& a, int64_t begin, int64_t end) {
  const bool bf16 = a.x_dtype == DType::bf16;
  const size_t x_size = bf16 ? 2 : 4;
  for (int64_t r = begin; r < end; ++r) {
    const void* x = static_cast<const char*>(a.x) + static_cast<size_t>(r * a.n) * x_size;
    int8_t* codes = a.codes + r * a.n;
    const float s_dq = bf16 ? q8_row<true>(x, a.n, a.params, codes) : q8_row<false>(x, a.n, a.params, codes);
    if (a.scale_dtype == DType::fp16)
      static_cast<uint16_t*>(a.scale)[r] = fp16_rne(s_dq);
    else
      static_cast<float*>(a.scale)[r] = s_dq;
  }
}

float KCS_ISA_FN(q8_row_f32)(const float* v, int64_t n, const Q8Params& p, int8_t* codes) {
  return q8_row<false>(v, n, p, codes);
}

}  // namespace kcs::opt
