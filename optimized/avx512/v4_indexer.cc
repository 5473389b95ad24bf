// K3 score path, AVX-512 (F/BW, VNNI): see optimized/v4_indexer.h for the scheme.
#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "optimized/q8.h"
#include "optimized/v4_indexer.h"

namespace kcs::opt {

namespace {

constexpr int kLanes = 16;
constexpr int kVecs = 2;  // row vectors per group: 32 rows share every qh broadcast
constexpr int kRows = kLanes * kVecs;
constexpr int kHeadBlock = 8;

struct alignas(64) Scratch {
  int8_t codes[kRows * 4096 + 64];    // row-major codes of one group (Dh <= 4096), padded
  float s_kv[kRows];
  int32_t kvt[1024 * kRows];          // [Dq][32] biased K quads
};

// kVecs x NB accumulators (16 independent vpdpbusd chains for NB = 8: enough to cover the
// instruction's latency at two per cycle).
template <int NB>
inline void head_block(const V4ScoreArgs& a, const Scratch& s, int64_t h0, const __m512* s_kv, __m512* score) {
  __m512i acc[kVecs][NB];
  for (int i = 0; i < NB; ++i) acc[0][i] = acc[1][i] = _mm512_set1_epi32(a.qh_init[h0 + i]);
  const int32_t* qd = a.qh_dw + h0 * a.Dq;
  for (int64_t q = 0; q < a.Dq; ++q) {
    const __m512i kv0 = _mm512_load_si512(s.kvt + q * kRows);
    const __m512i kv1 = _mm512_load_si512(s.kvt + q * kRows + kLanes);
    for (int i = 0; i < NB; ++i) {
      const __m512i b = _mm512_set1_epi32(qd[i * a.Dq + q]);
      acc[0][i] = _mm512_dpbusd_epi32(acc[0][i], kv0, b);
      acc[1][i] = _mm512_dpbusd_epi32(acc[1][i], kv1, b);
    }
  }
  const __m512 zero = _mm512_setzero_ps();
  for (int v = 0; v < kVecs; ++v)
    for (int i = 0; i < NB; ++i) {
      __m512 lg = _mm512_mul_ps(_mm512_cvtepi32_ps(acc[v][i]), s_kv[v]);
      lg = _mm512_mul_ps(lg, _mm512_set1_ps(a.s_qh[h0 + i]));
      const __m512 r = _mm512_max_ps(lg, _mm512_mul_ps(lg, zero));
      score[v] = _mm512_add_ps(score[v], _mm512_mul_ps(r, _mm512_set1_ps(a.w[h0 + i])));
    }
}

// 16 x 16 dword transpose in registers (unpack 32 / 64, then two 128-bit lane shuffles):
// on entry r[k] = dwords of row k, on exit r[j] = dword j of every row.
inline void transpose16(__m512i* r) {
  __m512i t[16];
  for (int k = 0; k < 8; ++k) {
    t[2 * k] = _mm512_unpacklo_epi32(r[2 * k], r[2 * k + 1]);
    t[2 * k + 1] = _mm512_unpackhi_epi32(r[2 * k], r[2 * k + 1]);
  }
  for (int k = 0; k < 4; ++k) {
    r[4 * k] = _mm512_unpacklo_epi64(t[4 * k], t[4 * k + 2]);
    r[4 * k + 1] = _mm512_unpackhi_epi64(t[4 * k], t[4 * k + 2]);
    r[4 * k + 2] = _mm512_unpacklo_epi64(t[4 * k + 1], t[4 * k + 3]);
    r[4 * k + 3] = _mm512_unpackhi_epi64(t[4 * k + 1], t[4 * k + 3]);
  }
  for (int h = 0; h < 2; ++h)
    for (int k = 0; k < 4; ++k) {
      t[8 * h + k] = _mm512_shuffle_i32x4(r[8 * h + k], r[8 * h + k + 4], 0x88);
      t[8 * h + k + 4] = _mm512_shuffle_i32x4(r[8 * h + k], r[8 * h + k + 4], 0xDD);
    }
  for (int k = 0; k < 8; ++k) {
    r[k] = _mm512_shuffle_i32x4(t[k], t[k + 8], 0x88);
    r[k + 8] = _mm512_shuffle_i32x4(t[k], t[k + 8], 0xDD);
  }
}

}  // namespace

void v4_score_rows_avx512(const V4ScoreArgs& a, int64_t j0, int64_t j1) {
  static thread_local Scratch s;
  const int64_t Dh = a.Dh;
  Q8Rows qa;
  qa.x_dtype = DType::bf16;
  qa.n = Dh;
  qa.params = a.q8;
  qa.codes = s.codes;
  qa.scale = s.s_kv;
  qa.scale_dtype = DType::fp32;
  const __m512i row_off = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                             _mm512_set1_epi32(static_cast<int32_t>(Dh)));
  const __m512i bias = _mm512_set1_epi32(static_cast<int32_t>(0x80808080u));
  for (int64_t g = j0; g < j1; g += kRows) {
    const int64_t n = std::min<int64_t>(kRows, j1 - g);
    // Fused Q8 of this group's rows into L1; missing rows of a partial group are zero rows.
    qa.x = a.cache + g * Dh;
    q8_rows_avx512(qa, 0, n);
    if (n < kRows) {
      std::memset(s.codes + n * Dh, 0, static_cast<size_t>((kRows - n) * Dh));
      for (int64_t r = n; r < kRows; ++r) s.s_kv[r] = 0.0f;
    }
    // Transpose to [quad][row] with the +128 bias. Bytes past Dh (the next row, or the padding)
    // meet qh bytes that are 0, so they add nothing.
    const int nv = n > kLanes ? 2 : 1;
    for (int v = 0; v < nv; ++v) {
      const int8_t* base = s.codes + v * kLanes * Dh;
      if (Dh % 64 == 0) {
        // Whole 64-byte row chunks: transpose in registers instead of 16-lane gathers.
        for (int64_t c = 0; c < Dh / 64; ++c) {
          __m512i r[16];
          for (int k = 0; k < 16; ++k) r[k] = _mm512_loadu_si512(base + k * Dh + 64 * c);
          transpose16(r);
          for (int j = 0; j < 16; ++j)
            _mm512_store_si512(s.kvt + (16 * c + j) * kRows + v * kLanes, _mm512_xor_si512(r[j], bias));
        }
        continue;
      }
      for (int64_t q = 0; q < a.Dq; ++q) {
        const __m512i x = _mm512_i32gather_epi32(
            _mm512_add_epi32(row_off, _mm512_set1_epi32(static_cast<int32_t>(4 * q))), base, 1);
        _mm512_store_si512(s.kvt + q * kRows + v * kLanes, _mm512_xor_si512(x, bias));
      }
    }
    if (nv == 1)
      for (int64_t q = 0; q < a.Dq; ++q) _mm512_store_si512(s.kvt + q * kRows + kLanes, bias);
    const __m512 s_kv[kVecs] = {_mm512_load_ps(s.s_kv), _mm512_load_ps(s.s_kv + kLanes)};
    __m512 score[kVecs] = {_mm512_setzero_ps(), _mm512_setzero_ps()};
    int64_t h = 0;
    for (; h + kHeadBlock <= a.H; h += kHeadBlock) head_block<kHeadBlock>(a, s, h, s_kv, score);
    for (; h + 2 <= a.H; h += 2) head_block<2>(a, s, h, s_kv, score);
    for (; h < a.H; ++h) head_block<1>(a, s, h, s_kv, score);
    for (int v = 0; v < kVecs; ++v) {
      const int64_t m = std::min<int64_t>(kLanes, n - v * kLanes);
      if (m <= 0) break;
      _mm512_mask_storeu_ps(a.score + g + v * kLanes, static_cast<__mmask16>((1u << m) - 1), score[v]);
    }
  }
}

}  // namespace kcs::opt
