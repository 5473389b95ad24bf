// K4 staging, step 8 (top-k copy), AVX2: int32 ids sign-extended with vpmovsxdq, int64 ids and
// fp32 weights moved as raw bits; the rows of a token tile are contiguous, so the copy runs over
// the flat range, with vpmaskmovd / vpmaskmovq for the tail (no element outside [r0, r1) is read
// or written). The quantizer part of K4 is optimized/avx2/nvfp4_quant.cc.
//
// Compiled with AVX2 flags; calls no inline helper of the kcs headers.
#include <cstdint>

#include "optimized/avx2/simd.h"
#include "optimized/nvfp4_stage.h"

namespace kcs::opt {

namespace {

void widen_ids_i32(const int32_t* src, int64_t* dst, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + i));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + i), _mm256_cvtepi32_epi64(_mm256_castsi256_si128(v)));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + i + 4), _mm256_cvtepi32_epi64(_mm256_extracti128_si256(v, 1)));
  }
  if (i < n) {
    const __m256i m = lanes8(n - i);
    const __m256i v = _mm256_maskload_epi32(src + i, m);
    // Lane masks of the two qword halves: the dword mask sign-extended the same way.
    _mm256_maskstore_epi64(reinterpret_cast<long long*>(dst + i), _mm256_cvtepi32_epi64(_mm256_castsi256_si128(m)),
                           _mm256_cvtepi32_epi64(_mm256_castsi256_si128(v)));
    _mm256_maskstore_epi64(reinterpret_cast<long long*>(dst + i + 4),
                           _mm256_cvtepi32_epi64(_mm256_extracti128_si256(m, 1)),
                           _mm256_cvtepi32_epi64(_mm256_extracti128_si256(v, 1)));
  }
}

}  // namespace
}  // namespace kcs::opt

#include "optimized/nvfp4_stage-inl.h"
