// LayerNorm, K1 form (spec §1.4), AVX-512 F/BW/VL. The binary32 sequence and summation order are
// defined in optimized/layernorm.h and shared with the AVX2 file, which gives the same bits.
//
// Three passes over the FP32 row (it stays in L1/L2): the mean, the variance of δ = x ⊖ μ, and
// the output. 64 partial sums in four zmm accumulators (lane i of acc_q is partial 16q + i); tail
// lanes are zero-masked so that padding contributes +0 to both sums (for the variance the mask
// is applied to the term, since 0 ⊖ μ is not 0).
//
// Like the other ISA files, this one calls no inline helper of the kcs headers.
#include <cstdint>

#include "optimized/avx512/simd.h"
#include "optimized/layernorm.h"

namespace kcs::opt {

namespace {

// Pass 1 term: x ⊗ c (masked lanes load +0, and +0 ⊗ c = +0).
struct MeanTerm {
  __m512 c;
  __m512 operator()(const float* x, __mmask16 k) const { return _mm512_mul_ps(_mm512_maskz_loadu_ps(k, x), c); }
};

// Pass 2 term: (δ ⊗ δ) ⊗ c with δ = x ⊖ μ, zeroed in masked lanes.
struct VarTerm {
  __m512 c, mu;
  __m512 operator()(const float* x, __mmask16 k) const {
    const __m512 d = _mm512_sub_ps(_mm512_maskz_loadu_ps(k, x), mu);
    return _mm512_maskz_mul_ps(k, _mm512_mul_ps(d, d), c);
  }
};

template <class Term>
float tree_sum(const float* x, int64_t n, const Term& term) {
  __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps(), a2 = _mm512_setzero_ps(), a3 = _mm512_setzero_ps();
  const __mmask16 all = 0xFFFF;
  int64_t k = 0;
  for (; k + 64 <= n; k += 64) {
    a0 = _mm512_add_ps(a0, term(x + k, all));
    a1 = _mm512_add_ps(a1, term(x + k + 16, all));
    a2 = _mm512_add_ps(a2, term(x + k + 32, all));
    a3 = _mm512_add_ps(a3, term(x + k + 48, all));
  }
  if (k < n) {
    a0 = _mm512_add_ps(a0, term(x + k, lanes16(n - k)));
    a1 = _mm512_add_ps(a1, term(x + k + 16, lanes16(n - k - 16)));
    a2 = _mm512_add_ps(a2, term(x + k + 32, lanes16(n - k - 32)));
    a3 = _mm512_add_ps(a3, term(x + k + 48, lanes16(n - k - 48)));
  }
  return tree64(a0, a1, a2, a3);
}

}  // namespace

void layernorm_stats_avx512(const LayerNormRows& a, int64_t row, float* mu, float* var) {
  const __m512 c = _mm512_set1_ps(a.inv_n);
  const float* x = a.x + row * a.n;
  *mu = tree_sum(x, a.n, MeanTerm{c});
  *var = tree_sum(x, a.n, VarTerm{c, _mm512_set1_ps(*mu)});
}

void layernorm_rows_avx512(const LayerNormRows& a, int64_t begin, int64_t end) {
  for (int64_t row = begin; row < end; ++row) {
    const float* x = a.x + row * a.n;
    float mu, var;
    layernorm_stats_avx512(a, row, &mu, &var);
    const __m512 muv = _mm512_set1_ps(mu);
    const __m512 den = _mm512_set1_ps(_mm_cvtss_f32(_mm_sqrt_ss(_mm_add_ss(_mm_set_ss(var), _mm_set_ss(a.eps)))));
    uint16_t* y = a.y + row * a.n;
    for (int64_t j = 0; j < a.n; j += 16) {
      const __mmask16 k = lanes16(a.n - j);
      const __m512 z = _mm512_div_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(k, x + j), muv), den);
      const __m512 o = _mm512_add_ps(_mm512_mul_ps(z, load_bf16(a.gamma + j, k)), load_bf16(a.beta + j, k));
      store_bf16(y + j, o, k);
    }
  }
}

}  // namespace kcs::opt
