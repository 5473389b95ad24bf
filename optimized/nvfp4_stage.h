// K4 staging kernel, SIMD parts. The hidden-state part is the NVFP4 quantizer's SIMD coder
// (optimized/nvfp4_quant.h, nvfp4_quant_avx512 / _avx2), called per token tile; this file adds
// step 8, the top-k copy, per ISA (optimized/avx512/nvfp4_stage.cc, optimized/avx2/nvfp4_stage.cc).
// Contract: bit-identical to nvfp4_stage_topk_reference.
#pragma once

#include <cstdint>

#include "kcs/cpu.h"
#include "kcs/dtype.h"

namespace kcs::opt {

struct Nvfp4Topk {
  const void* ids = nullptr;  // [rows, top_k] int32 or int64, dense
  DType ids_dtype = DType::i32;
  const float* weights = nullptr;  // [rows, top_k], dense
  int64_t top_k = 0;
  int64_t* idx_out = nullptr;   // [rows, top_k], dense
  float* weights_out = nullptr;  // [rows, top_k], dense
};

// Tokens [r0, r1): ids widened to int64, weights copied bit for bit. Writes nothing else.
void nvfp4_stage_topk_avx512(const Nvfp4Topk& a, int64_t r0, int64_t r1);
void nvfp4_stage_topk_avx2(const Nvfp4Topk& a, int64_t r0, int64_t r1);

// ISA variants, best first (optimized/variants.h).
struct Nvfp4StageVariant {
  Isa isa;
  decltype(&nvfp4_stage_topk_avx2) topk;
};
inline constexpr Nvfp4StageVariant kNvfp4StageVariants[] = {
    {Isa::avx512, &nvfp4_stage_topk_avx512},
    {Isa::avx2, &nvfp4_stage_topk_avx2},
};

}  // namespace kcs::opt
