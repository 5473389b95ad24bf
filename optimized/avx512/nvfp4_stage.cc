// K4 staging, step 8 (top-k copy), AVX-512 F: int32 ids sign-extended with vpmovsxdq, int64 ids
// and fp32 weights moved as raw bits; the rows of a token tile are contiguous, so the copy runs
// over the flat range with masked loads/stores for the tail (no element outside [r0, r1) is read
// or written). The quantizer part of K4 is optimized/avx512/nvfp4_quant.cc.
//
// Compiled with AVX-512 flags; calls no inline helper of the kcs headers.
#include <cstdint>

#include "optimized/avx512/simd.h"
#include "optimized/nvfp4_stage.h"

namespace kcs::opt {

namespace {

void widen_ids_i32(const int32_t* src, int64_t* dst, int64_t n) {
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = lanes16(n - i);
    const __m512i v = _mm512_maskz_loadu_epi32(m, src + i);
    _mm512_mask_storeu_epi64(dst + i, static_cast<__mmask8>(m), _mm512_cvtepi32_epi64(_mm512_castsi512_si256(v)));
    if (m >> 8)
      _mm512_mask_storeu_epi64(dst + i + 8, static_cast<__mmask8>(m >> 8),
                               _mm512_cvtepi32_epi64(_mm512_extracti64x4_epi64(v, 1)));
  }
}

}  // namespace
}  // namespace kcs::opt

#include "optimized/nvfp4_stage-inl.h"
