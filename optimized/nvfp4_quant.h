// NVFP4 quantizer SIMD kernels, one per ISA (optimized/avx512/nvfp4_quant.cc,
// optimized/avx2/nvfp4_quant.cc). Contract: bit-identical to nvfp4_row_reference for every
// input, including NaN / Inf / -0 / subnormal elements and both modes. K4 calls these for its
// hidden-state part.
#pragma once

#include <cstdint>

#include "kcs/cpu.h"
#include "kcs/dtype.h"
#include "kcs/kernels/nvfp4_quant.h"

namespace kcs::opt {

struct Nvfp4Rows {
  const void* x = nullptr;  // row r starts at x + r * x_stride elements (bf16/fp16 bits or fp32)
  DType x_dtype = DType::bf16;
  int64_t x_stride = 0;     // elements between rows (>= k)
  int64_t k = 0;            // row length, a multiple of 128
  Nvfp4Params params;
  uint8_t* x_fp4 = nullptr;  // [rows, k/2], dense
  int32_t* x_sf = nullptr;   // [rows, k/64], dense
};

// Quantize rows [r0, r1), 128-element blocks [kb0, kb1) of each. Any split of rows and blocks
// gives the same bytes.
void nvfp4_quant_avx512(const Nvfp4Rows& a, int64_t r0, int64_t r1, int64_t kb0, int64_t kb1);
void nvfp4_quant_avx2(const Nvfp4Rows& a, int64_t r0, int64_t r1, int64_t kb0, int64_t kb1);

// ISA variants, best first (optimized/variants.h).
struct Nvfp4QuantVariant {
  Isa isa;
  decltype(&nvfp4_quant_avx2) quant;
};
inline constexpr Nvfp4QuantVariant kNvfp4QuantVariants[] = {
    {Isa::avx512, &nvfp4_quant_avx512},
    {Isa::avx2, &nvfp4_quant_avx2},
};

}  // namespace kcs::opt
