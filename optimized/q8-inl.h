// The Q8 quantizer's entry points q8_rows_<isa> / q8_row_f32_<isa> (spec §1.1), one source for
// both ISAs: included at the end of optimized/avx512/q8.cc and optimized/avx2/q8.cc; the row
// passes are optimized/q8_row-inl.h.
#pragma once

#include <cstdint>

#include "optimized/q8.h"
#include "optimized/q8_row-inl.h"

namespace kcs::opt {

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
