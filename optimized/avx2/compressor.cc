// K5 compressor glue steps, AVX2 (formulas in optimized/compressor.h; the same IEEE operations as
// the AVX-512 file, so identical bits). 8 columns per step; tails go through a zero-padded
// stack copy (AVX2 has no masked 16-bit loads/stores). Calls no inline helper of the kcs headers.
#include <cstdint>
#include <cstring>

#include "optimized/avx2/simd.h"
#include "optimized/compressor.h"

namespace kcs::opt {

namespace {

__m256 load_f32(const float* p, int64_t m) {
  if (m >= 8) return _mm256_loadu_ps(p);
  alignas(32) float pad[8] = {};
  std::memcpy(pad, p, static_cast<size_t>(m) * sizeof(float));
  return _mm256_load_ps(pad);
}

// The BF16 GEMM engine's rounding (optimized/avx2/gemm_bf16.cc), NaN payload included; 8 dwords.
__m256i gemm_bf16(__m256 x) {
  const __m256i u = _mm256_castps_si256(x);
  const __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(1));
  const __m256i r = _mm256_srli_epi32(_mm256_add_epi32(u, _mm256_add_epi32(lsb, _mm256_set1_epi32(0x7FFF))), 16);
  const __m256i nan =
      _mm256_cmpgt_epi32(_mm256_and_si256(u, _mm256_set1_epi32(0x7FFFFFFF)), _mm256_set1_epi32(0x7F800000));
  const __m256i q = _mm256_or_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(0x40));
  return _mm256_blendv_epi8(r, q, nan);
}

__m256 bcast(uint16_t b) { return _mm256_castsi256_ps(_mm256_set1_epi32(static_cast<int>(static_cast<uint32_t>(b) << 16))); }

}  // namespace

void compressor_fused_row_avx2(const float* x, int64_t n, int64_t nope, const float* cs, const float* sn, uint16_t* out) {
  for (int64_t c = 0; c < nope; c += 8) store_bf16(out + c, load_f32(x + c, nope - c), nope - c);
  const __m256i even_sign = _mm256_set_epi32(0, INT32_MIN, 0, INT32_MIN, 0, INT32_MIN, 0, INT32_MIN);
  const int64_t R = n - nope;
  for (int64_t j = 0; j < R; j += 8) {
    const int64_t m = R - j;  // even: pairs are never split
    const __m256 v = load_f32(x + nope + j, m);
    const __m256 sw = _mm256_permute_ps(v, 0xB1);  // (x1, x0) per pair
    const __m256 p1 = _mm256_mul_ps(v, load_f32(cs + j, m));
    const __m256 p2 = _mm256_mul_ps(sw, load_f32(sn + j, m));
    const __m256 y = _mm256_add_ps(p1, _mm256_castsi256_ps(_mm256_xor_si256(_mm256_castps_si256(p2), even_sign)));
    store_bf16(out + nope + j, y, m);
  }
}

void compressor_bf16_row_avx2(const float* x, int64_t n, uint16_t* y) {
  for (int64_t c = 0; c < n; c += 8) store_bf16(y + c, load_f32(x + c, n - c), n - c);
}

void compressor_hadamard_rows_avx2(const uint16_t* x, int64_t rows, int64_t n, const uint16_t* H, uint16_t* y) {
  constexpr int kV = 8;  // 64 output columns per pass (8 of the 16 ymm registers)
  for (int64_t r = 0; r < rows; ++r) {
    const uint16_t* a = x + r * n;
    for (int64_t j0 = 0; j0 < n; j0 += 8 * kV) {
      __m256 acc[kV];
      int64_t m[kV];
      for (int v = 0; v < kV; ++v) {
        acc[v] = _mm256_setzero_ps();
        m[v] = n - j0 - 8 * v;
      }
      for (int64_t p = 0; 2 * p < n; ++p) {
        const int64_t k0 = 2 * p, k1 = 2 * p + 1;
        if (k1 < n) {
          const __m256 a1 = bcast(a[k1]);
          for (int v = 0; v < kV; ++v)
            if (m[v] > 0) acc[v] = _mm256_fmadd_ps(a1, load_bf16(H + k1 * n + j0 + 8 * v, m[v]), acc[v]);
        } else {
          for (int v = 0; v < kV; ++v) acc[v] = _mm256_fmadd_ps(_mm256_setzero_ps(), _mm256_setzero_ps(), acc[v]);
        }
        const __m256 a0 = bcast(a[k0]);
        for (int v = 0; v < kV; ++v)
          if (m[v] > 0) acc[v] = _mm256_fmadd_ps(a0, load_bf16(H + k0 * n + j0 + 8 * v, m[v]), acc[v]);
      }
      for (int v = 0; v < kV; ++v) {
        if (m[v] <= 0) continue;
        const __m256i d = gemm_bf16(acc[v]);
        const __m128i w = _mm_packus_epi32(_mm256_castsi256_si128(d), _mm256_extracti128_si256(d, 1));
        alignas(16) uint16_t out[8];
        _mm_store_si128(reinterpret_cast<__m128i*>(out), w);
        std::memcpy(y + r * n + j0 + 8 * v, out, static_cast<size_t>(m[v] < 8 ? m[v] : 8) * sizeof(uint16_t));
      }
    }
  }
}

}  // namespace kcs::opt
