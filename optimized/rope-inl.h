// The ISA-neutral part of RoPE (spec §1.3): the mode switch and the token/head loop with the
// pass-through columns, as rope_tokens_<isa>. Included at the end of optimized/avx512/rope.cc and
// optimized/avx2/rope.cc, each of which first defines, in its anonymous namespace, the slice
// kernels over one head's rope columns x -> y:
//   template <bool kV2, bool kF32> void rope_half(x, y, h, crow, srow, hi_col);  // R-HALF, R-V2
//   template <bool kF32> void rope_pair(x, y, h, crow, srow);                    // R-PAIR
#pragma once

#include <cstdint>
#include <cstring>

#include "optimized/rope.h"

namespace kcs::opt {
namespace {

template <bool kF32>
void rope_slice(const RopeArgs& a, const uint16_t* x, uint16_t* y, const void* crow, const void* srow) {
  const int64_t h = a.R / 2;
  // R-HALF's second half reads column h + j of a full table, column j of a half table.
  const int64_t hi_col = a.half_table ? 0 : h;
  switch (a.mode) {
    case RopeMode::half: rope_half<false, kF32>(x, y, h, crow, srow, hi_col); break;
    case RopeMode::v2: rope_half<true, kF32>(x, y, h, crow, srow, hi_col); break;
    case RopeMode::pair: rope_pair<kF32>(x, y, h, crow, srow); break;
  }
}

}  // namespace

void KCS_ISA_FN(rope_tokens)(const RopeArgs& a, int64_t begin, int64_t end) {
  const int64_t W = a.half_table ? a.R / 2 : a.R;
  const size_t tsize = a.table_f32 ? 4 : 2;
  const int64_t xh = a.x_head ? a.x_head : a.D, xt = a.x_tok ? a.x_tok : a.H * a.D;
  const int64_t yh = a.y_head ? a.y_head : a.D, yt = a.y_tok ? a.y_tok : a.H * a.D;
  for (int64_t t = begin; t < end; ++t) {
    const size_t row = static_cast<size_t>(t * W) * tsize;
    const void* crow = static_cast<const char*>(a.cos) + row;
    const void* srow = static_cast<const char*>(a.sin) + row;
    for (int64_t hd = 0; hd < a.H; ++hd) {
      const uint16_t* x = a.x + t * xt + hd * xh;
      uint16_t* y = a.y + t * yt + hd * yh;
      // Pass-through columns: [0, off) and [off + R, D).
      if (a.off > 0) std::memcpy(y, x, static_cast<size_t>(a.off) * sizeof(uint16_t));
      const int64_t after = a.D - a.off - a.R;
      if (after > 0) std::memcpy(y + a.off + a.R, x + a.off + a.R, static_cast<size_t>(after) * sizeof(uint16_t));
      if (a.table_f32)
        rope_slice<true>(a, x + a.off, y + a.off, crow, srow);
      else
        rope_slice<false>(a, x + a.off, y + a.off, crow, srow);
    }
  }
}

}  // namespace kcs::opt
