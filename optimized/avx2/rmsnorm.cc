// RMSNorm (spec §1.4), AVX2 (FMA and F16C deliberately unused). The binary32 sequence and
// summation order are defined in optimized/rmsnorm.h; this file gives the same bits as the
// AVX-512 one.
//
// The 64 partial sums live in eight ymm accumulators (lane i of acc_q is partial 8q + i), so the
// tree w = 32, 16, 8 is acc_q + acc_{q+4}, then + acc_{q+2}, then acc_0 + acc_1, exactly the
// AVX-512 file's zmm halves. AVX2 has no masked 16-bit loads: the last partial block of a row is
// copied into a zero-padded stack block (padding adds +0), and a tail of the output goes through
// a stack block too, so nothing past the row is read or written.
//
// Like the other ISA files, this one calls no inline helper of the kcs headers.
#include <cstdint>
#include <cstring>

#include "optimized/avx2/simd.h"
#include "optimized/rmsnorm.h"

namespace kcs::opt {

namespace {

template <bool kPypto>
inline __m256 term(__m256 v, __m256 c) {
  const __m256 t = _mm256_mul_ps(v, v);
  return kPypto ? _mm256_mul_ps(t, c) : t;
}

template <bool kPypto>
inline void add_block(const uint16_t* x, __m256 c, __m256* acc) {
  for (int q = 0; q < 8; ++q) acc[q] = _mm256_add_ps(acc[q], term<kPypto>(load_bf16(x + 8 * q), c));
}

template <bool kPypto>
float sum_terms(const uint16_t* x, int64_t n, float inv_n) {
  const __m256 c = _mm256_set1_ps(inv_n);
  __m256 acc[8];
  for (auto& a : acc) a = _mm256_setzero_ps();
  int64_t k = 0;
  for (; k + 64 <= n; k += 64) add_block<kPypto>(x + k, c, acc);
  if (k < n) {
    alignas(32) uint16_t pad[64] = {};
    std::memcpy(pad, x + k, static_cast<size_t>(n - k) * sizeof(uint16_t));
    add_block<kPypto>(pad, c, acc);
  }
  // The tree of optimized/rmsnorm.h: w = 32, 16, 8 on whole registers, then 4, 2, 1 in lanes.
  for (int q = 0; q < 4; ++q) acc[q] = _mm256_add_ps(acc[q], acc[q + 4]);
  for (int q = 0; q < 2; ++q) acc[q] = _mm256_add_ps(acc[q], acc[q + 2]);
  const __m256 b = _mm256_add_ps(acc[0], acc[1]);
  const __m128 d = _mm_add_ps(_mm256_castps256_ps128(b), _mm256_extractf128_ps(b, 1));
  const __m128 e = _mm_add_ps(d, _mm_movehl_ps(d, d));
  return _mm_cvtss_f32(_mm_add_ss(e, _mm_shuffle_ps(e, e, 1)));
}

template <bool kGammaF32>
inline __m256 load_gamma(const void* gamma, int64_t j) {
  if (kGammaF32) return _mm256_loadu_ps(static_cast<const float*>(gamma) + j);
  return load_bf16(static_cast<const uint16_t*>(gamma) + j);
}

template <bool kGammaF32>
void scale_row(const uint16_t* x, const void* gamma, int64_t n, float r, uint16_t* y) {
  const __m256 rv = _mm256_set1_ps(r);
  int64_t j = 0;
  for (; j + 8 <= n; j += 8) {
    const __m256 v = _mm256_mul_ps(load_gamma<kGammaF32>(gamma, j), _mm256_mul_ps(load_bf16(x + j), rv));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(y + j), narrow_bf16(v));
  }
  if (j < n) {
    const size_t m = static_cast<size_t>(n - j);
    alignas(32) uint16_t xp[8] = {};
    alignas(32) float gp[8] = {};
    alignas(32) uint16_t yp[8];
    std::memcpy(xp, x + j, m * sizeof(uint16_t));
    if (kGammaF32) {
      std::memcpy(gp, static_cast<const float*>(gamma) + j, m * sizeof(float));
    } else {
      alignas(32) uint16_t gb[8] = {};
      std::memcpy(gb, static_cast<const uint16_t*>(gamma) + j, m * sizeof(uint16_t));
      _mm256_store_ps(gp, load_bf16(gb));
    }
    const __m256 v = _mm256_mul_ps(_mm256_load_ps(gp), _mm256_mul_ps(load_bf16(xp), rv));
    _mm_store_si128(reinterpret_cast<__m128i*>(yp), narrow_bf16(v));
    std::memcpy(y + j, yp, m * sizeof(uint16_t));
  }
}

}  // namespace
}  // namespace kcs::opt

#include "optimized/rmsnorm-inl.h"
