// The NVFP4 stage's top-k copy (spec §1.2, K4), as nvfp4_stage_topk_<isa>: ids widened or copied
// to int64, weights copied bit for bit. Included by optimized/avx512/nvfp4_stage.cc and
// optimized/avx2/nvfp4_stage.cc. top_k ids a token against K/2 code bytes: plain loops (the
// compiler vectorizes the widening) are all it needs.
#pragma once

#include <cstdint>
#include <cstring>

#include "optimized/nvfp4_stage.h"

namespace kcs::opt {

void KCS_ISA_FN(nvfp4_stage_topk)(const Nvfp4Topk& a, int64_t r0, int64_t r1) {
  if (r1 <= r0) return;
  const int64_t base = r0 * a.top_k, n = (r1 - r0) * a.top_k;
  if (a.ids_dtype == DType::i64) {
    std::memcpy(a.idx_out + base, static_cast<const int64_t*>(a.ids) + base, static_cast<size_t>(n) * 8);
  } else {
    const int32_t* ids = static_cast<const int32_t*>(a.ids) + base;
    for (int64_t i = 0; i < n; ++i) a.idx_out[base + i] = ids[i];
  }
  std::memcpy(a.weights_out + base, a.weights + base, static_cast<size_t>(n) * 4);
}

}  // namespace kcs::opt
