// The ISA-neutral part of the NVFP4 quantizer (spec §1.2): the row loop and the dispatch on input
// dtype, tie rule and scale saturation, as nvfp4_quant_<isa>. Included at the end of
// optimized/avx512/nvfp4_quant.cc and optimized/avx2/nvfp4_quant.cc, each of which first defines,
// in its anonymous namespace, enum class In (the input dtype) and
//   template <In kIn, bool kAway, bool kSat>
//   void quant_row(const void* x, int64_t kb0, int64_t kb1, uint8_t* fp4, uint8_t* sf):
//   blocks [kb0, kb1) of one row.
#pragma once

#include <cstdint>

#include "optimized/nvfp4_quant.h"

namespace kcs::opt {
namespace {

template <In kIn, bool kAway, bool kSat>
void quant_rows(const Nvfp4Rows& a, int64_t r0, int64_t r1, int64_t kb0, int64_t kb1) {
  const int64_t esize = kIn == In::fp32 ? 4 : 2;
  for (int64_t r = r0; r < r1; ++r)
    quant_row<kIn, kAway, kSat>(static_cast<const char*>(a.x) + r * a.x_stride * esize, kb0, kb1,
                                a.x_fp4 + r * (a.k / 2), reinterpret_cast<uint8_t*>(a.x_sf + r * (a.k / 64)));
}

template <In kIn>
void dispatch_modes(const Nvfp4Rows& a, int64_t r0, int64_t r1, int64_t kb0, int64_t kb1) {
  const bool away = a.params.ties == E2m1Ties::away;
  if (away && !a.params.saturate_scale) return quant_rows<kIn, true, false>(a, r0, r1, kb0, kb1);
  if (away) return quant_rows<kIn, true, true>(a, r0, r1, kb0, kb1);
  if (!a.params.saturate_scale) return quant_rows<kIn, false, false>(a, r0, r1, kb0, kb1);
  return quant_rows<kIn, false, true>(a, r0, r1, kb0, kb1);
}

}  // namespace

void KCS_ISA_FN(nvfp4_quant)(const Nvfp4Rows& a, int64_t r0, int64_t r1, int64_t kb0, int64_t kb1) {
  switch (a.x_dtype) {
    case DType::bf16: return dispatch_modes<In::bf16>(a, r0, r1, kb0, kb1);
    case DType::fp16: return dispatch_modes<In::fp16>(a, r0, r1, kb0, kb1);
    default: return dispatch_modes<In::fp32>(a, r0, r1, kb0, kb1);
  }
}

}  // namespace kcs::opt
