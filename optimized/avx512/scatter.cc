// scatter_update (spec §1.6), AVX-512 BW: row copies with 64-byte vectors and a byte-masked
// tail, so a row of any length (a 2-byte fp16 scale, a 16-byte fp32 scale row, a 1 KiB bf16
// row) is copied without touching a byte outside it (rows under 16 bytes go by plain 8/4/2/1-byte
// moves instead). PA_NZ fractal rows are 32 bytes: one ymm. The destination row of the token
// kAhead places ahead is prefetched: random cache rows are latency-bound, not bandwidth-bound.
//
// Compiled with AVX-512 flags: no inline helper of the kcs headers is called here (see
// optimized/avx512/q8.cc); everything local is static.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "optimized/scatter.h"

namespace kcs::opt {

namespace {

void copy_row(uint8_t* dst, const uint8_t* src, size_t n) {
  size_t j = 0;
  for (; j + 256 <= n; j += 256) {
    const __m512i a = _mm512_loadu_si512(src + j), b = _mm512_loadu_si512(src + j + 64);
    const __m512i c = _mm512_loadu_si512(src + j + 128), d = _mm512_loadu_si512(src + j + 192);
    _mm512_storeu_si512(dst + j, a);
    _mm512_storeu_si512(dst + j + 64, b);
    _mm512_storeu_si512(dst + j + 128, c);
    _mm512_storeu_si512(dst + j + 192, d);
  }
  for (; j + 64 <= n; j += 64) _mm512_storeu_si512(dst + j, _mm512_loadu_si512(src + j));
  if (j == n) return;
  if (n - j >= 16) {
    const __mmask64 k = (uint64_t{1} << (n - j)) - 1u;  // 16 <= n - j < 64
    _mm512_mask_storeu_epi8(dst + j, k, _mm512_maskz_loadu_epi8(k, src + j));
    return;
  }
  // Under 16 bytes (the fp16 / fp32 scale rows): plain moves beat a masked 64-byte store.
  if (n - j >= 8) {
    std::memcpy(dst + j, src + j, 8);
    j += 8;
  }
  if (n - j >= 4) {
    std::memcpy(dst + j, src + j, 4);
    j += 4;
  }
  if (n - j >= 2) {
    std::memcpy(dst + j, src + j, 2);
    j += 2;
  }
  if (n - j >= 1) dst[j] = src[j];
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

void scatter_tokens_avx512(const ScatterCall& c, int64_t begin, int64_t end) {
  const size_t rb = static_cast<size_t>(c.g.D) * c.g.elem_size;
  const int64_t bs = c.g.block_size;
  for (int64_t i = begin; i < end; ++i) {
    if (i + kAhead < c.T) {
      const int64_t nx = c.index[i + kAhead];
      if (nx >= 0) _mm_prefetch(reinterpret_cast<const char*>(row_start(c, nx, rb)), _MM_HINT_T0);
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
