// BF16 GEMM, AVX2 + FMA + F16C: the micro-kernel table and the min-magnitude scan; the FMA
// micro-kernel, its epilogue and the row store are optimized/gemm_bf16-inl.h (the same chains as
// the AVX-512 engines, so the same bits). 4 rows x 1 strip (16 columns, two ymm) of accumulators:
// 8 + 4 widened W + 2 broadcast A = 14 of the 16 ymm registers. No inline helper of the kcs
// headers is called here (see optimized/avx512/gemm_bf16.cc).
#include <cstdint>
#include <cstring>

#include "optimized/avx2/simd.h"
#include "optimized/gemm_bf16-inl.h"

namespace kcs::opt {

namespace {

using MicroFn = void (*)(const Bf16Micro&);
constexpr MicroFn kFma[kBf16FmaMaxMr256] = {&micro_fma<1, 1>, &micro_fma<2, 1>, &micro_fma<3, 1>, &micro_fma<4, 1>};

}  // namespace

void gemm_bf16_micro_avx2(int mr, int ns, const Bf16Micro& m) {
  (void)ns;  // one strip per call
  kFma[mr - 1](m);
}

uint32_t gemm_bf16_min_mag_avx2(const uint16_t* x, int64_t n) {
  const __m256i abs_mask = _mm256_set1_epi16(0x7FFF), one = _mm256_set1_epi16(1);
  __m256i m0 = _mm256_set1_epi16(-1), m1 = _mm256_set1_epi16(-1);
  int64_t j = 0;
  for (; j + 32 <= n; j += 32) {
    const __m256i v0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + j));
    const __m256i v1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + j + 16));
    m0 = _mm256_min_epu16(m0, _mm256_sub_epi16(_mm256_and_si256(v0, abs_mask), one));
    m1 = _mm256_min_epu16(m1, _mm256_sub_epi16(_mm256_and_si256(v1, abs_mask), one));
  }
  if (j < n) {
    // The tail in a zero-padded block: zeros wrap to 0xFFFF and never win.
    alignas(32) uint16_t tail[32] = {};
    std::memcpy(tail, x + j, static_cast<size_t>(n - j) * sizeof(uint16_t));
    const __m256i v0 = _mm256_load_si256(reinterpret_cast<const __m256i*>(tail));
    const __m256i v1 = _mm256_load_si256(reinterpret_cast<const __m256i*>(tail + 16));
    m0 = _mm256_min_epu16(m0, _mm256_sub_epi16(_mm256_and_si256(v0, abs_mask), one));
    m1 = _mm256_min_epu16(m1, _mm256_sub_epi16(_mm256_and_si256(v1, abs_mask), one));
  }
  m0 = _mm256_min_epu16(m0, m1);
  __m128i q = _mm_min_epu16(_mm256_castsi256_si128(m0), _mm256_extracti128_si256(m0, 1));
  q = _mm_min_epu16(q, _mm_srli_si128(q, 8));
  q = _mm_min_epu16(q, _mm_srli_si128(q, 4));
  q = _mm_min_epu16(q, _mm_srli_si128(q, 2));
  return static_cast<uint32_t>(_mm_extract_epi16(q, 0)) + 1u;
}

}  // namespace kcs::opt
