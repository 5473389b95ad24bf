// K3 score path, AVX2 (vpmaddwd on sign-extended int16 pairs): see optimized/v4_indexer.h.
#include <cstdint>
#include <cstring>

#include "optimized/avx2/simd.h"
#include "optimized/q8.h"
#include "optimized/v4_indexer.h"

namespace kcs::opt {

namespace {

constexpr int kHeadBlock = 6;

struct alignas(64) Scratch {
  int8_t codes[kLanes * 4096 + 64];
  float s_kv[kLanes];
  int32_t kvt[1024 * 2 * kLanes];  // [Dq][even, odd][8]: int16 pairs (c0, c2) and (c1, c3)
};

template <int NB>
inline void head_block(const V4ScoreArgs& a, const Scratch& s, int64_t h0, __m256& score) {
  __m256i acc[NB];
  for (int i = 0; i < NB; ++i) acc[i] = _mm256_setzero_si256();
  const int32_t* qd = a.qh_dw + 2 * h0 * a.Dq;
  for (int64_t q = 0; q < a.Dq; ++q) {
    const __m256i ev = _mm256_load_si256(reinterpret_cast<const __m256i*>(s.kvt + (2 * q) * kLanes));
    const __m256i od = _mm256_load_si256(reinterpret_cast<const __m256i*>(s.kvt + (2 * q + 1) * kLanes));
    for (int i = 0; i < NB; ++i) {
      const __m256i pe = _mm256_madd_epi16(ev, _mm256_set1_epi32(qd[(2 * i) * a.Dq + q]));
      const __m256i po = _mm256_madd_epi16(od, _mm256_set1_epi32(qd[(2 * i + 1) * a.Dq + q]));
      acc[i] = _mm256_add_epi32(acc[i], _mm256_add_epi32(pe, po));
    }
  }
  // The AVX-512 kernel's order: f32(max(acc, 0)) ⊗ (s_qh ⊗ w), heads ascending; s_kv at the end.
  const __m256i zero = _mm256_setzero_si256();
  for (int i = 0; i < NB; ++i) {
    const __m256 r = _mm256_cvtepi32_ps(_mm256_max_epi32(acc[i], zero));
    score = _mm256_add_ps(score, _mm256_mul_ps(r, _mm256_set1_ps(a.s_qh[h0 + i] * a.w[h0 + i])));
  }
}

}  // namespace

void v4_score_rows_avx2(const V4ScoreArgs& a, int64_t j0, int64_t j1) {
  static thread_local Scratch s;
  const int64_t Dh = a.Dh;
  Q8Rows qa;
  qa.x_dtype = DType::bf16;
  qa.n = Dh;
  qa.params = a.q8;
  qa.codes = s.codes;
  qa.scale = s.s_kv;
  qa.scale_dtype = DType::fp32;
  const __m256i row_off = _mm256_mullo_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
                                             _mm256_set1_epi32(static_cast<int32_t>(Dh)));
  for (int64_t g = j0; g < j1; g += kLanes) {
    const int64_t n = min64(kLanes, j1 - g);
    qa.x = a.cache + g * Dh;
    q8_rows_avx2(qa, 0, n);
    if (n < kLanes) {
      std::memset(s.codes + n * Dh, 0, static_cast<size_t>((kLanes - n) * Dh));
      for (int64_t r = n; r < kLanes; ++r) s.s_kv[r] = 0.0f;
    }
    // Bytes past Dh meet zero qh pairs: they add nothing.
    for (int64_t q = 0; q < a.Dq; ++q) {
      const __m256i v = _mm256_i32gather_epi32(reinterpret_cast<const int*>(s.codes),
                                               _mm256_add_epi32(row_off, _mm256_set1_epi32(static_cast<int32_t>(4 * q))), 1);
      const __m256i ev = _mm256_srai_epi16(_mm256_slli_epi16(v, 8), 8);  // (c0, c2)
      const __m256i od = _mm256_srai_epi16(v, 8);                         // (c1, c3)
      _mm256_store_si256(reinterpret_cast<__m256i*>(s.kvt + (2 * q) * kLanes), ev);
      _mm256_store_si256(reinterpret_cast<__m256i*>(s.kvt + (2 * q + 1) * kLanes), od);
    }
    const __m256 s_kv = _mm256_load_ps(s.s_kv);
    __m256 score = _mm256_setzero_ps();
    int64_t h = 0;
    for (; h + kHeadBlock <= a.H; h += kHeadBlock) head_block<kHeadBlock>(a, s, h, score);
    for (; h + 2 <= a.H; h += 2) head_block<2>(a, s, h, score);
    for (; h < a.H; ++h) head_block<1>(a, s, h, score);
    const __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int32_t>(n)),
                                            _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    _mm256_maskstore_ps(a.score + g, mask, _mm256_mul_ps(score, s_kv));
  }
}

}  // namespace kcs::opt
