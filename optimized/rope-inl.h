// RoPE (spec §1.3), the ISA-neutral body of optimized/avx512/rope.cc and optimized/avx2/rope.cc,
// as rope_tokens_<isa>. The binary32 formulas are in optimized/rope.h; every element is computed
// exactly as there, so both ISAs and a scalar binary32 emulation give the same bits.
//
// Per head, kLanes values of each rope half per step:
//   R-HALF: xa = x[j..), xb = x[h+j..) (two BF16 loads, widened by a shift);
//   R-V2 / R-PAIR: kLanes (even, odd) BF16 pairs are one load of kLanes dwords: the even element
//           is the low word (<< 16 widens it), the odd one the high word (& 0xFFFF0000), which is
//           the de-interleave for free.
// R-HALF / R-V2 store y_lo at j and y_hi at h + j (v2 leaves the output de-interleaved); R-PAIR
// re-interleaves by packing (bf16(y_odd) << 16) | bf16(y_even) into one dword store.
// −x is a sign flip (exactly the source's x * −1.0); "x1 + 0.0" is an add of +0.
// The per-token table row is re-read by every head from L1 (R-3D broadcast).
#pragma once

#include <cstdint>
#include <cstring>

#include "optimized/rope.h"

namespace kcs::opt {
namespace {

// kLanes table values from column `col` of a table row (BF16 widened, or FP32).
template <bool kF32>
inline VF load_table(const void* row, int64_t col, int64_t m) {
  if (kF32) return loadn_f32(static_cast<const float*>(row) + col, m);
  return loadn_bf16(static_cast<const uint16_t*>(row) + col, m);
}

// R-HALF (kV2: on the de-interleaved slice) of one head's slice x -> y.
template <bool kV2, bool kF32>
void rope_half(const uint16_t* x, uint16_t* y, int64_t h, const void* crow, const void* srow, int64_t hi_col) {
  for_lanes(h, [&](int64_t j, int64_t m) {
    VF xa, xb;
    if (kV2) {
      const VI dw = loadn_u32(x + 2 * j, m);
      xa = widen_lo(dw);
      xb = widen_hi(dw);
    } else {
      xa = loadn_bf16(x + j, m);
      xb = loadn_bf16(x + h + j, m);
    }
    const VF c_lo = load_table<kF32>(crow, j, m), s_lo = load_table<kF32>(srow, j, m);
    const VF c_hi = load_table<kF32>(crow, hi_col + j, m), s_hi = load_table<kF32>(srow, hi_col + j, m);
    const VF y_lo = add_f(mul_f(xa, c_lo), mul_f(neg_f(xb), s_lo));
    const VF y_hi = add_f(mul_f(xb, c_hi), mul_f(add_f(xa, zero_f()), s_hi));
    storen_bf16(y + j, y_lo, m);
    storen_bf16(y + h + j, y_hi, m);
  });
}

template <bool kF32>
void rope_pair(const uint16_t* x, uint16_t* y, int64_t h, const void* crow, const void* srow) {
  for_lanes(h, [&](int64_t p, int64_t m) {
    const VI dw = loadn_u32(x + 2 * p, m);
    const VF e = widen_lo(dw), o = widen_hi(dw);
    const VF c = load_table<kF32>(crow, p, m), s = load_table<kF32>(srow, p, m);
    const VF ye = sub_f(mul_f(e, c), mul_f(o, s));
    const VF yo = add_f(mul_f(e, s), mul_f(o, c));
    storen_u32(y + 2 * p, pack_bf16_pairs(ye, yo), m);
  });
}

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
