// K5 compressor glue steps, AVX-512 F/BW (formulas in optimized/compressor.h). 16 columns per
// step, masked tails; calls no inline helper of the kcs headers.
#include <cstdint>

#include "optimized/avx512/simd.h"
#include "optimized/compressor.h"

namespace kcs::opt {

namespace {

// The BF16 GEMM engine's rounding (optimized/avx512/gemm_bf16.cc), NaN payload included.
__m256i gemm_bf16(__m512 x) {
  const __m512i u = _mm512_castps_si512(x);
  const __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(1));
  __m512i r = _mm512_srli_epi32(_mm512_add_epi32(u, _mm512_add_epi32(lsb, _mm512_set1_epi32(0x7FFF))), 16);
  const __mmask16 nan =
      _mm512_cmpgt_epu32_mask(_mm512_and_si512(u, _mm512_set1_epi32(0x7FFFFFFF)), _mm512_set1_epi32(0x7F800000));
  r = _mm512_mask_or_epi32(r, nan, _mm512_srli_epi32(u, 16), _mm512_set1_epi32(0x40));
  return _mm512_cvtepi32_epi16(r);
}

__m512 widen(const uint16_t* p, __mmask16 k) {
  return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(k, p)), 16));
}

__m512 bcast(uint16_t b) { return _mm512_castsi512_ps(_mm512_set1_epi32(static_cast<int>(static_cast<uint32_t>(b) << 16))); }

}  // namespace

void compressor_fused_row_avx512(const float* x, int64_t n, int64_t nope, const float* cs, const float* sn, uint16_t* out) {
  for (int64_t c = 0; c < nope; c += 16) {
    const __mmask16 k = lanes16(nope - c);
    store_bf16(out + c, _mm512_maskz_loadu_ps(k, x + c), k);
  }
  // Even lanes subtract the swapped product: y0 = x0·c + (−(x1·s)) is x0·c ⊖ x1·s exactly.
  const __m512i even_sign = _mm512_set_epi32(0, INT32_MIN, 0, INT32_MIN, 0, INT32_MIN, 0, INT32_MIN, 0, INT32_MIN, 0,
                                             INT32_MIN, 0, INT32_MIN, 0, INT32_MIN);
  const int64_t R = n - nope;
  for (int64_t j = 0; j < R; j += 16) {
    const __mmask16 k = lanes16(R - j);  // R even: pairs are never split
    const __m512 v = _mm512_maskz_loadu_ps(k, x + nope + j);
    const __m512 sw = _mm512_permute_ps(v, 0xB1);  // (x1, x0) per pair
    const __m512 p1 = _mm512_mul_ps(v, _mm512_maskz_loadu_ps(k, cs + j));
    const __m512 p2 = _mm512_mul_ps(sw, _mm512_maskz_loadu_ps(k, sn + j));
    const __m512 y = _mm512_add_ps(p1, _mm512_castsi512_ps(_mm512_xor_si512(_mm512_castps_si512(p2), even_sign)));
    store_bf16(out + nope + j, y, k);
  }
}

void compressor_bf16_row_avx512(const float* x, int64_t n, uint16_t* y) {
  for (int64_t c = 0; c < n; c += 16) {
    const __mmask16 k = lanes16(n - c);
    store_bf16(y + c, _mm512_maskz_loadu_ps(k, x + c), k);
  }
}

void compressor_hadamard_rows_avx512(const uint16_t* x, int64_t rows, int64_t n, const uint16_t* H, uint16_t* y) {
  constexpr int kV = 8;  // 128 output columns per pass
  for (int64_t r = 0; r < rows; ++r) {
    const uint16_t* a = x + r * n;
    for (int64_t j0 = 0; j0 < n; j0 += 16 * kV) {
      __m512 acc[kV];
      __mmask16 k[kV];
      for (int v = 0; v < kV; ++v) {
        acc[v] = _mm512_setzero_ps();
        k[v] = lanes16(n - j0 - 16 * v);
      }
      for (int64_t p = 0; 2 * p < n; ++p) {
        const int64_t k0 = 2 * p, k1 = 2 * p + 1;
        if (k1 < n) {
          const __m512 a1 = bcast(a[k1]);
          for (int v = 0; v < kV; ++v) acc[v] = _mm512_fmadd_ps(a1, widen(H + k1 * n + j0 + 16 * v, k[v]), acc[v]);
        } else {
          for (int v = 0; v < kV; ++v) acc[v] = _mm512_fmadd_ps(_mm512_setzero_ps(), _mm512_setzero_ps(), acc[v]);
        }
        const __m512 a0 = bcast(a[k0]);
        for (int v = 0; v < kV; ++v) acc[v] = _mm512_fmadd_ps(a0, widen(H + k0 * n + j0 + 16 * v, k[v]), acc[v]);
      }
      for (int v = 0; v < kV; ++v)
        if (k[v]) _mm256_mask_storeu_epi16(y + r * n + j0 + 16 * v, k[v], gemm_bf16(acc[v]));
    }
  }
}

}  // namespace kcs::opt
