// The ISA-neutral part of scatter_update (spec §1.6): the PA_NZ fractal-row copy (one ymm per
// 32-byte row on both ISAs), the prefetch of the destination row kAhead tokens ahead and the
// token loop, the whole-vector part of a row copy, as scatter_tokens_<isa>. Included by
// optimized/avx512/scatter.cc and optimized/avx2/scatter.cc, each of which then defines copy_row
// (declared below) with its own tail.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "optimized/scatter.h"

namespace kcs::opt {
namespace {

// A PA_BSND row copy that touches no byte outside the row (per ISA).
void copy_row(uint8_t* dst, const uint8_t* src, size_t n);

// Bytes [j, n), n - j < 16, as plain 8/4/2/1-byte moves (they beat a masked store there).
inline void copy_lt16(uint8_t* dst, const uint8_t* src, size_t j, size_t n) {
#pragma GCC unroll 4
  for (size_t w = 8; w >= 1; w /= 2)
    if (n - j >= w) {
      std::memcpy(dst + j, src + j, w);
      j += w;
    }
}

// Whole vectors of a row, four per step while they last; returns where the rest begins.
inline size_t copy_vectors(uint8_t* dst, const uint8_t* src, size_t n) {
  constexpr size_t kV = sizeof(VI);
  size_t j = 0;
  for (; j + 4 * kV <= n; j += 4 * kV) {
    const VI a = loadv_u32(src + j), b = loadv_u32(src + j + kV);
    const VI c = loadv_u32(src + j + 2 * kV), d = loadv_u32(src + j + 3 * kV);
    storev_u32(dst + j, a);
    storev_u32(dst + j + kV, b);
    storev_u32(dst + j + 2 * kV, c);
    storev_u32(dst + j + 3 * kV, d);
  }
  for (; j + kV <= n; j += kV) storev_u32(dst + j, loadv_u32(src + j));
  return j;
}

// PA_NZ: D / C0 fractal rows of 32 bytes, block_size * 32 bytes apart.
void copy_row_nz(uint8_t* block, int64_t slot, const ScatterGeom& g, const uint8_t* src) {
  const int64_t stride = g.block_size * 32;
  uint8_t* dst = block + slot * 32;
  const int64_t n = g.D * static_cast<int64_t>(g.elem_size) / 32;  // D / C0
  for (int64_t d1 = 0; d1 < n; ++d1)
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + d1 * stride),
                        _mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + d1 * 32)));
}

constexpr int64_t kAhead = 16;

// First byte of cache row idx (PA_NZ: of its first fractal row).
inline const uint8_t* row_start(const ScatterCall& c, int64_t idx, size_t rb) {
  if (c.g.layout == CacheLayout::pa_bsnd) return c.cache + static_cast<size_t>(idx) * rb;
  const int64_t bs = c.g.block_size;
  return c.cache + static_cast<size_t>(idx / bs * bs) * rb + static_cast<size_t>(idx % bs) * 32;
}

}  // namespace

void KCS_ISA_FN(scatter_tokens)(const ScatterCall& c, int64_t begin, int64_t end) {
  const size_t rb = static_cast<size_t>(c.g.D) * c.g.elem_size;
  const int64_t bs = c.g.block_size;
  for (int64_t i = begin; i < end; ++i) {
    if (i + kAhead < c.T) {
      const int64_t nx = c.index[i + kAhead];
      if (nx >= 0) prefetch_l1(row_start(c, nx, rb));
    }
    const int64_t idx = c.index[i];
    if (idx < 0 || (c.winner != nullptr && c.winner[i] == 0)) continue;
    const uint8_t* s = c.src + static_cast<size_t>(i) * rb;
    if (c.g.layout == CacheLayout::pa_bsnd)
      copy_row(c.cache + static_cast<size_t>(idx) * rb, s, rb);
    else
      copy_row_nz(c.cache + static_cast<size_t>(idx / bs * bs) * rb, idx % bs, c.g, s);
  }
}

}  // namespace kcs::opt
