// The ISA-neutral part of the NVFP4 stage's top-k copy (spec §1.2, K4): ids widened or copied to
// int64 and weights copied, as nvfp4_stage_topk_<isa>. Included at the end of
// optimized/avx512/nvfp4_stage.cc and optimized/avx2/nvfp4_stage.cc, each of which first defines,
// in its anonymous namespace, widen_ids_i32(const int32_t*, int64_t*, int64_t n).
#pragma once

#include <cstdint>

#include "optimized/nvfp4_stage.h"

namespace kcs::opt {

namespace {

// 32-bit elements (fp32 weights as bits); int64 ids go through here as pairs of dwords.
void copy_dwords(const void* src, void* dst, int64_t n) {
  const int32_t* s = static_cast<const int32_t*>(src);
  int32_t* d = static_cast<int32_t*>(dst);
  for_lanes(n, [&](int64_t i, int64_t r) { storen_u32(d + i, loadn_u32(s + i, r), r); });
}

}  // namespace

void KCS_ISA_FN(nvfp4_stage_topk)(const Nvfp4Topk& a, int64_t r0, int64_t r1) {
  if (r1 <= r0) return;
  const int64_t base = r0 * a.top_k, n = (r1 - r0) * a.top_k;
  if (a.ids_dtype == DType::i64)
    copy_dwords(static_cast<const int64_t*>(a.ids) + base, a.idx_out + base, 2 * n);
  else
    widen_ids_i32(static_cast<const int32_t*>(a.ids) + base, a.idx_out + base, n);
  copy_dwords(a.weights + base, a.weights_out + base, n);
}

}  // namespace kcs::opt
