// Q8 SIMD row kernels, one per ISA (optimized/avx512/q8.cc, optimized/avx2/q8.cc).
// Contract: bit-identical to q8_row_reference for every input, including NaN/Inf rows.
#pragma once

#include <cstdint>

#include "kcs/cpu.h"
#include "kcs/dtype.h"
#include "kcs/kernels/q8.h"

namespace kcs::opt {

struct Q8Rows {
  const void* x = nullptr;  // [rows, n], bf16 bit patterns or fp32
  DType x_dtype = DType::bf16;
  int64_t n = 0;
  Q8Params params;
  int8_t* codes = nullptr;  // [rows, n]
  void* scale = nullptr;    // [rows], fp16 bit patterns or fp32
  DType scale_dtype = DType::fp32;
};

// Quantize rows [begin, end).
void q8_rows_avx512(const Q8Rows& a, int64_t begin, int64_t end);
void q8_rows_avx2(const Q8Rows& a, int64_t begin, int64_t end);

// One fp32 row, for fused kernels: writes n codes and returns s_dq.
float q8_row_f32_avx512(const float* v, int64_t n, const Q8Params& p, int8_t* codes);
float q8_row_f32_avx2(const float* v, int64_t n, const Q8Params& p, int8_t* codes);

// ISA variants, best first (optimized/variants.h).
struct Q8Variant {
  Isa isa;
  decltype(&q8_rows_avx2) rows;
  decltype(&q8_row_f32_avx2) row_f32;
};
inline constexpr Q8Variant kQ8Variants[] = {
    {Isa::avx512, &q8_rows_avx512, &q8_row_f32_avx512},
    {Isa::avx2, &q8_rows_avx2, &q8_row_f32_avx2},
};

}  // namespace kcs::opt
