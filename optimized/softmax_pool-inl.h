// The ISA-neutral part of the softmax pool (spec §1.5 column kernels): the dispatch on the logit
// source and the V dtype, as softmax_pool_cols_<isa>. Included at the end of
// optimized/avx512/softmax_pool.cc and optimized/avx2/softmax_pool.cc, each of which first
// defines, in its anonymous namespace, enum class Logits (the logit source) and
//   template <Logits kZ, bool kBf16> void pool_cols_v(const PoolWindow&, int64_t c0, int64_t c1,
//                                                     float* out): output columns [c0, c1).
#pragma once

#include <cstdint>

#include "optimized/softmax_pool.h"

namespace kcs::opt {
namespace {

template <Logits kZ>
void pool_dispatch_v(const PoolWindow& w, int64_t c0, int64_t c1, float* out) {
  if (w.v_bf16)
    pool_cols_v<kZ, true>(w, c0, c1, out);
  else
    pool_cols_v<kZ, false>(w, c0, c1, out);
}

}  // namespace

void KCS_ISA_FN(softmax_pool_cols)(const PoolWindow& w, int64_t c0, int64_t c1, float* out) {
  if (c0 >= c1) return;
  if (w.M <= 0) {  // no position: 0 / 0
    for (int64_t c = c0; c < c1; ++c) out[c] = __builtin_nanf("");
    return;
  }
  if (w.score == nullptr)
    pool_dispatch_v<Logits::f32>(w, c0, c1, out);
  else if (w.score_bf16)
    pool_dispatch_v<Logits::score_bf16>(w, c0, c1, out);
  else
    pool_dispatch_v<Logits::score_f32>(w, c0, c1, out);
}

}  // namespace kcs::opt
