// scatter_update (spec §1.6), AVX2: row copies with 32-byte vectors. The tail of a row of at
// least 32 bytes is one more 32-byte copy that ends at the row's last byte (it rewrites bytes
// of the same row with the same values); shorter rows go by 16/8/4/2/1-byte pieces. No byte
// outside the row is read or written. PA_NZ fractal rows are 32 bytes: one ymm. The destination
// row of the token kAhead places ahead is prefetched: random cache rows are latency-bound.
// Like every ISA file, this one calls no inline helper of the kcs headers (optimized/simd_scalar.h).
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "optimized/avx2/simd.h"
#include "optimized/scatter-inl.h"

namespace kcs::opt {

namespace {

void copy_row(uint8_t* dst, const uint8_t* src, size_t n) {
  size_t j = copy_vectors(dst, src, n);
  if (j == n) return;
  if (n >= 32) {  // no masked byte stores: one more vector, ending at the row's last byte
    storev_u32(dst + n - 32, loadv_u32(src + n - 32));
    return;
  }
  // n < 32: at most one piece of each size.
  if (n - j >= 16) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + j), _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + j)));
    j += 16;
  }
  copy_lt16(dst, src, j, n);
}

}  // namespace
}  // namespace kcs::opt
