// scatter_update (spec §1.6), AVX2: row copies with 32-byte vectors. The tail of a row of at
// least 32 bytes is one more 32-byte copy that ends at the row's last byte (it rewrites bytes
// of the same row with the same values); shorter rows go by 16/8/4/2/1-byte pieces. No byte
// outside the row is read or written. PA_NZ fractal rows are 32 bytes: one ymm. The destination
// row of the token kAhead places ahead is prefetched: random cache rows are latency-bound.
//
// Compiled with AVX2 flags: no inline helper of the kcs headers is called here; everything
// local is static.
#include <immintrin.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "optimized/scatter.h"

namespace kcs::opt {

namespace {

inline void copy32(uint8_t* dst, const uint8_t* src) {
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst), _mm256_loadu_si256(reinterpret_cast<const __m256i*>(src)));
}

void copy_row(uint8_t* dst, const uint8_t* src, size_t n) {
  size_t j = 0;
  for (; j + 128 <= n; j += 128) {
    const __m256i a = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + j));
    const __m256i b = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + j + 32));
    const __m256i c = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + j + 64));
    const __m256i d = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + j + 96));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + j), a);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + j + 32), b);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + j + 64), c);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + j + 96), d);
  }
  for (; j + 32 <= n; j += 32) copy32(dst + j, src + j);
  if (j == n) return;
  if (n >= 32) {
    copy32(dst + n - 32, src + n - 32);
    return;
  }
  // n < 32: at most one piece of each size.
  if (n - j >= 16) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + j), _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + j)));
    j += 16;
  }
  if (n - j >= 8) {
    _mm_storel_epi64(reinterpret_cast<__m128i*>(dst + j), _mm_loadl_epi64(reinterpret_cast<const __m128i*>(src + j)));
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

void copy_row_nz(uint8_t* block, int64_t slot, const ScatterGeom& g, const uint8_t* src) {
  const int64_t stride = g.block_size * 32;
  uint8_t* dst = block + slot * 32;
  const int64_t n = g.D * static_cast<int64_t>(g.elem_size) / 32;  // D / C0
  for (int64_t d1 = 0; d1 < n; ++d1) copy32(dst + d1 * stride, src + d1 * 32);
}

constexpr int64_t kAhead = 16;

// First byte of cache row idx (PA_NZ: of its first fractal row).
inline const uint8_t* row_start(const ScatterCall& c, int64_t idx, size_t rb) {
  if (c.g.layout == CacheLayout::pa_bsnd) return c.cache + static_cast<size_t>(idx) * rb;
  const int64_t bs = c.g.block_size;
  return c.cache + static_cast<size_t>(idx / bs * bs) * rb + static_cast<size_t>(idx % bs) * 32;
}

}  // namespace

void scatter_tokens_avx2(const ScatterCall& c, int64_t begin, int64_t end) {
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
