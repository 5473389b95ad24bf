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

// acc += u8(kv) x s8(b), in place. GCC 12 does not tie the accumulator of the vpdpbusd builtin to
// its output inside a loop: it copied all 16 accumulators through other registers (and the stack)
// every K step, twice the instructions of the products themselves. The asm on named locals keeps
// them in registers.
#define KCS_DPBUSD(acc, kv, b) __asm__("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(kv), "v"(b))

// ReLU, weight and head sum of one head for both row vectors. r = max(+0, lg) instead of the
// spec's max(lg, lg * 0): they differ only in the sign of a zero r (and both keep a NaN lg:
// vmaxps returns its second operand then); the head sum starts at +0, where adding -0 or +0 gives
// the same bits, so the score is unchanged.
inline void epilogue(__m512i acc0, __m512i acc1, float s_qh, float w, const __m512* s_kv, __m512* score) {
  const __m512 zero = _mm512_setzero_ps(), sq = _mm512_set1_ps(s_qh), wv = _mm512_set1_ps(w);
  const __m512 lg0 = _mm512_mul_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(acc0), s_kv[0]), sq);
  const __m512 lg1 = _mm512_mul_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(acc1), s_kv[1]), sq);
  score[0] = _mm512_add_ps(score[0], _mm512_mul_ps(_mm512_max_ps(zero, lg0), wv));
  score[1] = _mm512_add_ps(score[1], _mm512_mul_ps(_mm512_max_ps(zero, lg1), wv));
}

// 8 heads x 2 row vectors: 16 independent vpdpbusd chains (enough to cover the instruction's
// latency at its throughput). `pf`: cache lines of the next group to prefetch meanwhile.
inline void head_block8(const V4ScoreArgs& a, const Scratch& s, int64_t h0, const __m512* s_kv, __m512* score,
                        const char* pf, int pf_lines) {
  const int32_t* qi = a.qh_init + h0;
  __m512i a00 = _mm512_set1_epi32(qi[0]), a01 = _mm512_set1_epi32(qi[1]), a02 = _mm512_set1_epi32(qi[2]),
          a03 = _mm512_set1_epi32(qi[3]), a04 = _mm512_set1_epi32(qi[4]), a05 = _mm512_set1_epi32(qi[5]),
          a06 = _mm512_set1_epi32(qi[6]), a07 = _mm512_set1_epi32(qi[7]);
  __m512i a10 = a00, a11 = a01, a12 = a02, a13 = a03, a14 = a04, a15 = a05, a16 = a06, a17 = a07;
  const int64_t Dq = a.Dq;
  const int32_t* qd = a.qh_dw + h0 * Dq;
  for (int l = 0; l < pf_lines; ++l) _mm_prefetch(pf + 64 * l, _MM_HINT_T0);
  const int32_t* kv = s.kvt;
  for (int64_t q = 0; q < Dq; ++q, kv += kRows, ++qd) {
    const __m512i kv0 = _mm512_load_si512(kv), kv1 = _mm512_load_si512(kv + kLanes);
    __m512i b;
#define KCS_STEP(i)                          \
  b = _mm512_set1_epi32(qd[(i) * Dq]);       \
  KCS_DPBUSD(a0##i, kv0, b);                 \
  KCS_DPBUSD(a1##i, kv1, b);
    KCS_STEP(0) KCS_STEP(1) KCS_STEP(2) KCS_STEP(3) KCS_STEP(4) KCS_STEP(5) KCS_STEP(6) KCS_STEP(7)
#undef KCS_STEP
  }
  const float* sq = a.s_qh + h0;
  const float* w = a.w + h0;
  epilogue(a00, a10, sq[0], w[0], s_kv, score);
  epilogue(a01, a11, sq[1], w[1], s_kv, score);
  epilogue(a02, a12, sq[2], w[2], s_kv, score);
  epilogue(a03, a13, sq[3], w[3], s_kv, score);
  epilogue(a04, a14, sq[4], w[4], s_kv, score);
  epilogue(a05, a15, sq[5], w[5], s_kv, score);
  epilogue(a06, a16, sq[6], w[6], s_kv, score);
  epilogue(a07, a17, sq[7], w[7], s_kv, score);
}

// One head (the H % 8 tail).
inline void head_block1(const V4ScoreArgs& a, const Scratch& s, int64_t h, const __m512* s_kv, __m512* score) {
  __m512i acc0 = _mm512_set1_epi32(a.qh_init[h]), acc1 = acc0;
  const int32_t* qd = a.qh_dw + h * a.Dq;
  for (int64_t q = 0; q < a.Dq; ++q) {
    const __m512i b = _mm512_set1_epi32(qd[q]);
    KCS_DPBUSD(acc0, _mm512_load_si512(s.kvt + q * kRows), b);
    KCS_DPBUSD(acc1, _mm512_load_si512(s.kvt + q * kRows + kLanes), b);
  }
  epilogue(acc0, acc1, a.s_qh[h], a.w[h], s_kv, score);
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
    // Prefetch the next group's rows (kRows · Dh · 2 bytes), spread over the head blocks. Past j1
    // too: with static schedules the next work item of this thread is the next tile of the same
    // token. A prefetch never faults, so rows past the tensor cost nothing.
    const char* pf = reinterpret_cast<const char*>(a.cache + (g + kRows) * Dh);
    const int64_t pf_total = (kRows * Dh * 2 + 63) / 64;
    const int64_t blocks = std::max<int64_t>(1, a.H / kHeadBlock);
    const int pf_per = static_cast<int>((pf_total + blocks - 1) / blocks);
    int64_t pf_done = 0;
    int64_t h = 0;
    for (; h + kHeadBlock <= a.H; h += kHeadBlock) {
      const int n_pf = static_cast<int>(std::min<int64_t>(pf_per, pf_total - pf_done));
      head_block8(a, s, h, s_kv, score, pf + 64 * pf_done, n_pf);
      pf_done += n_pf;
    }
    for (; h < a.H; ++h) head_block1(a, s, h, s_kv, score);
    for (int v = 0; v < kVecs; ++v) {
      const int64_t m = std::min<int64_t>(kLanes, n - v * kLanes);
      if (m <= 0) break;
      _mm512_mask_storeu_ps(a.score + g + v * kLanes, static_cast<__mmask16>((1u << m) - 1), score[v]);
    }
  }
}

}  // namespace kcs::opt
