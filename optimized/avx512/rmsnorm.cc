// RMSNorm (spec §1.4), AVX-512 F/BW/VL. The binary32 sequence and summation order are defined in
// optimized/rmsnorm.h and shared with the AVX2 file, which gives the same bits.
//
// The 64 partial sums live in four zmm accumulators (lane i of acc_q is partial 16q + i); the tail
// of a row is loaded with zero-masked loads, so padding adds +0 to partials that are already
// >= +0. Pass 2 re-reads the row (it is in L1/L2) and rounds to BF16 with integer arithmetic
// (round to nearest even, subnormals kept, NaN -> sign|0x7FC0 as kcs's bf16_from_float).
//
// Like the other ISA files, this one calls no inline helper of the kcs headers (see
// optimized/avx512/q8.cc): an out-of-line copy emitted here could be kept by the linker.
#include <cstdint>

#include "optimized/avx512/simd.h"
#include "optimized/rmsnorm.h"

namespace kcs::opt {

namespace {

template <bool kPypto>
inline __m512 term(__m512 v, __m512 c) {
  const __m512 t = _mm512_mul_ps(v, v);
  return kPypto ? _mm512_mul_ps(t, c) : t;
}

template <bool kPypto>
float sum_terms(const uint16_t* x, int64_t n, float inv_n) {
  const __m512 c = _mm512_set1_ps(inv_n);
  __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps(), a2 = _mm512_setzero_ps(), a3 = _mm512_setzero_ps();
  const __mmask16 all = 0xFFFF;
  int64_t k = 0;
  for (; k + 64 <= n; k += 64) {
    a0 = _mm512_add_ps(a0, term<kPypto>(load_bf16(x + k, all), c));
    a1 = _mm512_add_ps(a1, term<kPypto>(load_bf16(x + k + 16, all), c));
    a2 = _mm512_add_ps(a2, term<kPypto>(load_bf16(x + k + 32, all), c));
    a3 = _mm512_add_ps(a3, term<kPypto>(load_bf16(x + k + 48, all), c));
  }
  if (k < n) {  // zero-padded last block: padding adds +0 to partials that are >= +0
    a0 = _mm512_add_ps(a0, term<kPypto>(load_bf16(x + k, lanes16(n - k)), c));
    a1 = _mm512_add_ps(a1, term<kPypto>(load_bf16(x + k + 16, lanes16(n - k - 16)), c));
    a2 = _mm512_add_ps(a2, term<kPypto>(load_bf16(x + k + 32, lanes16(n - k - 32)), c));
    a3 = _mm512_add_ps(a3, term<kPypto>(load_bf16(x + k + 48, lanes16(n - k - 48)), c));
  }
  return tree64(a0, a1, a2, a3);
}

template <bool kGammaF32>
void scale_row(const uint16_t* x, const void* gamma, int64_t n, float r, uint16_t* y) {
  const __m512 rv = _mm512_set1_ps(r);
  for (int64_t j = 0; j < n; j += 16) {
    const __mmask16 k = lanes16(n - j);
    const __m512 g = kGammaF32 ? _mm512_maskz_loadu_ps(k, static_cast<const float*>(gamma) + j)
                               : load_bf16(static_cast<const uint16_t*>(gamma) + j, k);
    store_bf16(y + j, _mm512_mul_ps(g, _mm512_mul_ps(load_bf16(x + j, k), rv)), k);
  }
}

}  // namespace
}  // namespace kcs::opt

#include "optimized/rmsnorm-inl.h"
