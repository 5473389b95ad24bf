// The ISA-neutral part of the Q8 quantizer (spec §1.1): the per-row scales, the choice of pass-2
// variant and the entry points q8_rows_<isa> / q8_row_f32_<isa>. Included at the end of
// optimized/avx512/q8.cc and optimized/avx2/q8.cc, each of which first defines, in its anonymous
// namespace:
//   uint32_t amax_bits_bf16(const uint16_t*, int64_t n), amax_bits_f32(const float*, int64_t n):
//     pass 1, the integer max of |bit pattern| (NaN beats Inf) as binary32 bits;
//   template <bool kBf16, bool kRhaz, bool kSpecial>
//   void quantize_row(const void* x, int64_t n, float s_q, int8_t* codes): pass 2.
#pragma once

#include <cstdint>
#include <cstring>

#include "optimized/q8.h"

namespace kcs::opt {
namespace {

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
