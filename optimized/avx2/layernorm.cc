// LayerNorm, K1 form (spec §1.4), AVX2 (FMA and F16C deliberately unused). The binary32 sequence
// and summation order are defined in optimized/layernorm.h; this file gives the same bits as the
// AVX-512 one (64 partials in eight ymm accumulators, lane i of acc_q = partial 8q + i, and the
// same tree). Row tails go through zero-padded stack blocks with a lane mask that zeroes the
// padding's variance terms, so nothing past the row is read or written.
//
// Like the other ISA files, this one calls no inline helper of the kcs headers.
#include <cstdint>
#include <cstring>

#include "optimized/avx2/simd.h"
#include "optimized/layernorm.h"

namespace kcs::opt {

namespace {

// All-ones in the first r lanes (r in [0, 8]).
inline __m256 lane_mask(int64_t r) {
  const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  return _mm256_castsi256_ps(_mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(r)), idx));
}

struct MeanTerm {
  __m256 c;
  __m256 operator()(const float* x, __m256) const { return _mm256_mul_ps(_mm256_loadu_ps(x), c); }
};

struct VarTerm {
  __m256 c, mu;
  __m256 operator()(const float* x, __m256 valid) const {
    const __m256 d = _mm256_sub_ps(_mm256_loadu_ps(x), mu);
    return _mm256_and_ps(_mm256_mul_ps(_mm256_mul_ps(d, d), c), valid);
  }
};

template <class Term>
inline void add_block(const float* x, const Term& term, int64_t valid, __m256* acc) {
  for (int q = 0; q < 8; ++q) {
    const int64_t r = valid - 8 * q;
    acc[q] = _mm256_add_ps(acc[q], term(x + 8 * q, lane_mask(r < 0 ? 0 : (r > 8 ? 8 : r))));
  }
}

template <class Term>
float tree_sum(const float* x, int64_t n, const Term& term) {
  __m256 acc[8];
  for (auto& v : acc) v = _mm256_setzero_ps();
  int64_t k = 0;
  for (; k + 64 <= n; k += 64) add_block(x + k, term, 64, acc);
  if (k < n) {
    alignas(32) float pad[64] = {};
    std::memcpy(pad, x + k, static_cast<size_t>(n - k) * sizeof(float));
    add_block(pad, term, n - k, acc);
  }
  for (int q = 0; q < 4; ++q) acc[q] = _mm256_add_ps(acc[q], acc[q + 4]);
  for (int q = 0; q < 2; ++q) acc[q] = _mm256_add_ps(acc[q], acc[q + 2]);
  const __m256 b = _mm256_add_ps(acc[0], acc[1]);
  const __m128 d = _mm_add_ps(_mm256_castps256_ps128(b), _mm256_extractf128_ps(b, 1));
  const __m128 e = _mm_add_ps(d, _mm_movehl_ps(d, d));
  return _mm_cvtss_f32(_mm_add_ss(e, _mm_shuffle_ps(e, e, 1)));
}

inline __m256 output8(const float* x, const uint16_t* g, const uint16_t* b, __m256 mu, __m256 den) {
  const __m256 z = _mm256_div_ps(_mm256_sub_ps(_mm256_loadu_ps(x), mu), den);
  return _mm256_add_ps(_mm256_mul_ps(z, load_bf16(g)), load_bf16(b));
}

}  // namespace

void layernorm_stats_avx2(const LayerNormRows& a, int64_t row, float* mu, float* var) {
  const __m256 c = _mm256_set1_ps(a.inv_n);
  const float* x = a.x + row * a.n;
  *mu = tree_sum(x, a.n, MeanTerm{c});
  *var = tree_sum(x, a.n, VarTerm{c, _mm256_set1_ps(*mu)});
}

void layernorm_rows_avx2(const LayerNormRows& a, int64_t begin, int64_t end) {
  for (int64_t row = begin; row < end; ++row) {
    const float* x = a.x + row * a.n;
    float mu, var;
    layernorm_stats_avx2(a, row, &mu, &var);
    const __m256 muv = _mm256_set1_ps(mu);
    const __m256 den = _mm256_set1_ps(_mm_cvtss_f32(_mm_sqrt_ss(_mm_add_ss(_mm_set_ss(var), _mm_set_ss(a.eps)))));
    uint16_t* y = a.y + row * a.n;
    int64_t j = 0;
    for (; j + 8 <= a.n; j += 8)
      _mm_storeu_si128(reinterpret_cast<__m128i*>(y + j), narrow_bf16(output8(x + j, a.gamma + j, a.beta + j, muv, den)));
    if (j < a.n) {
      const size_t m = static_cast<size_t>(a.n - j);
      alignas(32) float xp[8] = {};
      alignas(32) uint16_t gp[8] = {}, bp[8] = {}, yp[8];
      std::memcpy(xp, x + j, m * sizeof(float));
      std::memcpy(gp, a.gamma + j, m * sizeof(uint16_t));
      std::memcpy(bp, a.beta + j, m * sizeof(uint16_t));
      _mm_store_si128(reinterpret_cast<__m128i*>(yp), narrow_bf16(output8(xp, gp, bp, muv, den)));
      std::memcpy(y + j, yp, m * sizeof(uint16_t));
    }
  }
}

}  // namespace kcs::opt
