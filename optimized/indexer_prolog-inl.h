// K1 indexer_prolog, the ISA-neutral body of optimized/avx512/indexer_prolog.cc and
// optimized/avx2/indexer_prolog.cc: the direct (unpacked) BF16 GEMM of decode tiles and the
// weights epilogue. Definitions and the exact operation order in optimized/indexer_prolog.h, so
// both ISAs give the same bits.
#pragma once

#include <cstdint>

#include "optimized/indexer_prolog.h"

namespace kcs::opt {

namespace {

constexpr int kNb = 4;                          // vectors per column block
constexpr int64_t kIpCols = kLanes * kNb;       // columns per block
constexpr int kIpRows = kLanes == 16 ? 4 : 2;  // rows per register tile (16 or 8 accumulators)

// Rows [r0, r0 + MR) x columns [c, c + width) (width <= kIpCols; kWhole: width == kIpCols, whose
// loads and stores are plain), all of K.
template <int MR, bool kWhole>
void block(const Bf16Direct& g, int64_t r0, int64_t c, int64_t n0, int64_t width) {
  if (kWhole) width = kIpCols;
  const int64_t K = g.k;
  const int64_t kb = g.k_block > 0 ? (g.k_block + 1) / 2 * 2 : (K + 1) / 2 * 2;
  const int nv = static_cast<int>((width + kLanes - 1) / kLanes);
  for (int64_t k0 = 0; k0 < K; k0 += kb) {
    const int64_t k1 = k0 + kb < K ? k0 + kb : K;
    VF acc[MR][kNb];
    for (int r = 0; r < MR; ++r)
      for (int j = 0; j < kNb; ++j) acc[r][j] = zero_f();
    for (int64_t k = k0; k < k1; k += 2) {
      const bool odd = k + 1 < K;  // false: the zero pad of an odd K
      VF a1[MR], a0[MR];
      for (int r = 0; r < MR; ++r) {
        const uint16_t* ar = g.a + (r0 + r) * g.lda;
        a1[r] = set1_f(odd ? float_of(static_cast<uint32_t>(ar[k + 1]) << 16) : 0.0f);
        a0[r] = set1_f(float_of(static_cast<uint32_t>(ar[k]) << 16));
      }
      const uint16_t* w0 = g.w + k * g.ldw + c;
      const uint16_t* w1 = w0 + g.ldw;
      for (int j = 0; j < nv; ++j) {
        const VF wo = odd ? loadn_bf16(w1 + kLanes * j, width - kLanes * j) : zero_f();
        for (int r = 0; r < MR; ++r) acc[r][j] = fmadd_f(a1[r], wo, acc[r][j]);
        const VF we = loadn_bf16(w0 + kLanes * j, width - kLanes * j);
        for (int r = 0; r < MR; ++r) acc[r][j] = fmadd_f(a0[r], we, acc[r][j]);
      }
    }
    for (int r = 0; r < MR; ++r) {
      float* y = g.y + (r0 + r) * g.ldy + (c - n0);
      for (int j = 0; j < nv; ++j) {
        const int64_t m = width - kLanes * j;
        const VF v = k0 > 0 ? add_f(loadn_f32(y + kLanes * j, m), acc[r][j]) : acc[r][j];
        storen_f32(y + kLanes * j, v, m);
      }
    }
  }
}

template <bool kWhole>
void block_rows(const Bf16Direct& g, int64_t c, int64_t n0, int64_t width) {
  int64_t r = 0;
  for (; r + kIpRows <= g.m; r += kIpRows) block<kIpRows, kWhole>(g, r, c, n0, width);
  if (r < g.m)
    with_rows<kIpRows - 1>(g.m - r, [&](auto mr) { block<decltype(mr)::value, kWhole>(g, r, c, n0, width); });
}

}  // namespace

void KCS_ISA_FN(ip_bf16_direct)(const Bf16Direct& g, int64_t n0, int64_t n1) {
  if (g.m <= 0 || n1 <= n0) return;
  for (int64_t c = n0; c < n1; c += kIpCols) {
    const int64_t width = min64(n1 - c, kIpCols);
    if (width == kIpCols)
      block_rows<true>(g, c, n0, width);
    else
      block_rows<false>(g, c, n0, width);
  }
}

void KCS_ISA_FN(ip_weights)(const uint16_t* wb, int64_t n, float c, uint16_t* out) {
  const VF cv = set1_f(c);
  for_lanes(n, [&](int64_t j, int64_t r) { storen_fp16(out + j, mul_f(loadn_bf16(wb + j, r), cv), r); });
}

}  // namespace kcs::opt
