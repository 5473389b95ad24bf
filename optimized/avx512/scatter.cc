// scatter_update (spec §1.6), AVX-512 BW: row copies with 64-byte vectors and a byte-masked
// tail, so a row of any length (a 2-byte fp16 scale, a 16-byte fp32 scale row, a 1 KiB bf16
// row) is copied without touching a byte outside it (rows under 16 bytes go by plain 8/4/2/1-byte
// moves instead). PA_NZ fractal rows are 32 bytes: one ymm. The destination row of the token
// kAhead places ahead is prefetched: random cache rows are latency-bound, not bandwidth-bound.
// Like every ISA file, this one calls no inline helper of the kcs headers (optimized/simd_scalar.h).
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "optimized/avx512/simd.h"
#include "optimized/scatter-inl.h"

namespace kcs::opt {

namespace {

void copy_row(uint8_t* dst, const uint8_t* src, size_t n) {
  const size_t j = copy_vectors(dst, src, n);
  if (j == n) return;
  if (n - j >= 16) {
    const __mmask64 k = (uint64_t{1} << (n - j)) - 1u;  // 16 <= n - j < 64
    _mm512_mask_storeu_epi8(dst + j, k, _mm512_maskz_loadu_epi8(k, src + j));
    return;
  }
  copy_lt16(dst, src, j, n);  // the fp16 / fp32 scale rows
}

}  // namespace
}  // namespace kcs::opt
