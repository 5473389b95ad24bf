// K3 score path, AVX-512 (F/BW, VNNI): see optimized/v4_indexer.h for the scheme.
#include <cstdint>
#include <cstring>

#include "optimized/avx512/simd.h"
#include "optimized/q8.h"
#include "optimized/v4_indexer.h"

namespace kcs::opt {

namespace {

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

// ReLU, weight and head sum of one head for both row vectors, with the row scale left out:
//   score[row] = s_kv[row] ⊗ Σ_h f32(max(acc[row, h], 0)) ⊗ c[h],   c[h] = s_qh[h] ⊗ w[h]
// (see optimized/v4_indexer.h). One multiply per head and vector: multiplies share the execution
// ports of vpdpbusd on Zen 4, the integer max, conversion and add do not.
inline void epilogue(__m512i acc0, __m512i acc1, float c, __m512* score) {
  const __m512i zero = _mm512_setzero_si512();
  const __m512 cv = _mm512_set1_ps(c);
  score[0] = _mm512_add_ps(score[0], _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_max_epi32(acc0, zero)), cv));
  score[1] = _mm512_add_ps(score[1], _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_max_epi32(acc1, zero)), cv));
}

// Next-group work run between the products of the current group (see Pipe below); a no-op type
// for the unpipelined path.
struct NoTasks {
  int64_t interval = 1 << 30;
  bool pending() const { return false; }
  void run() {}
};

// 8 heads x 2 row vectors: 16 independent vpdpbusd chains (enough to cover the instruction's
// latency at its throughput). `pf`: cache lines to prefetch meanwhile; every `tasks.interval` K
// steps one task of the next row group runs, so that its Q8 and transposes (other execution
// ports) overlap the products instead of waiting for them.
template <class Tasks>
inline void head_block8(const V4ScoreArgs& a, const int32_t* kvt, int64_t h0, __m512* score,
                        const char* pf, int pf_lines, Tasks& tasks) {
  const int32_t* qi = a.qh_init + h0;
  __m512i a00 = _mm512_set1_epi32(qi[0]), a01 = _mm512_set1_epi32(qi[1]), a02 = _mm512_set1_epi32(qi[2]),
          a03 = _mm512_set1_epi32(qi[3]), a04 = _mm512_set1_epi32(qi[4]), a05 = _mm512_set1_epi32(qi[5]),
          a06 = _mm512_set1_epi32(qi[6]), a07 = _mm512_set1_epi32(qi[7]);
  __m512i a10 = a00, a11 = a01, a12 = a02, a13 = a03, a14 = a04, a15 = a05, a16 = a06, a17 = a07;
  const int64_t Dq = a.Dq;
  const int32_t* qd = a.qh_dw + h0 * Dq;
  for (int l = 0; l < pf_lines; ++l) _mm_prefetch(pf + 64 * l, _MM_HINT_T1);
  const int32_t* kv = kvt;
  for (int64_t q0 = 0; q0 < Dq;) {
    const int64_t q1 = min64(Dq, q0 + tasks.interval);
    for (int64_t q = q0; q < q1; ++q, kv += kRows, ++qd) {
      const __m512i kv0 = _mm512_load_si512(kv), kv1 = _mm512_load_si512(kv + kLanes);
      __m512i b;
#define KCS_STEP(i)                          \
  b = _mm512_set1_epi32(qd[(i) * Dq]);       \
  KCS_DPBUSD(a0##i, kv0, b);                 \
  KCS_DPBUSD(a1##i, kv1, b);
      KCS_STEP(0) KCS_STEP(1) KCS_STEP(2) KCS_STEP(3) KCS_STEP(4) KCS_STEP(5) KCS_STEP(6) KCS_STEP(7)
#undef KCS_STEP
    }
    q0 = q1;
    if (tasks.pending()) tasks.run();
  }
  const float* sq = a.s_qh + h0;
  const float* w = a.w + h0;
  epilogue(a00, a10, sq[0] * w[0], score);
  epilogue(a01, a11, sq[1] * w[1], score);
  epilogue(a02, a12, sq[2] * w[2], score);
  epilogue(a03, a13, sq[3] * w[3], score);
  epilogue(a04, a14, sq[4] * w[4], score);
  epilogue(a05, a15, sq[5] * w[5], score);
  epilogue(a06, a16, sq[6] * w[6], score);
  epilogue(a07, a17, sq[7] * w[7], score);
}

// One head (the H % 8 tail).
inline void head_block1(const V4ScoreArgs& a, const int32_t* kvt, int64_t h, __m512* score) {
  __m512i acc0 = _mm512_set1_epi32(a.qh_init[h]), acc1 = acc0;
  const int32_t* qd = a.qh_dw + h * a.Dq;
  for (int64_t q = 0; q < a.Dq; ++q) {
    const __m512i b = _mm512_set1_epi32(qd[q]);
    KCS_DPBUSD(acc0, _mm512_load_si512(kvt + q * kRows), b);
    KCS_DPBUSD(acc1, _mm512_load_si512(kvt + q * kRows + kLanes), b);
  }
  epilogue(acc0, acc1, a.s_qh[h] * a.w[h], score);
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

// Any shape: Q8 through the engine, then the products, group after group.
void score_generic(const V4ScoreArgs& a, int64_t j0, int64_t j1) {
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
    const int64_t n = min64(kRows, j1 - g);
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
    const int64_t blocks = max64(1, a.H / kHeadBlock);
    const int pf_per = static_cast<int>((pf_total + blocks - 1) / blocks);
    int64_t pf_done = 0;
    int64_t h = 0;
    NoTasks none;
    for (; h + kHeadBlock <= a.H; h += kHeadBlock) {
      const int n_pf = static_cast<int>(min64(pf_per, pf_total - pf_done));
      head_block8(a, s.kvt, h, score, pf + 64 * pf_done, n_pf, none);
      pf_done += n_pf;
    }
    for (; h < a.H; ++h) head_block1(a, s.kvt, h, score);
    for (int v = 0; v < kVecs; ++v) {
      const int64_t m = min64(kLanes, n - v * kLanes);
      if (m <= 0) break;
      _mm512_mask_storeu_ps(a.score + g + v * kLanes, static_cast<__mmask16>((1u << m) - 1),
                            _mm512_mul_ps(score[v], s_kv[v]));
    }
  }
}


// Q8 of one BF16 row with Dh % 64 == 0, the same binary32 steps as the Q8 engine
// (optimized/avx512/q8.cc) for rows whose amax is finite and whose s_q does not overflow; returns
// false for the others (NaN / Inf amax, overflowed s_q), which the caller hands to the engine.
template <bool kRhaz>
inline bool q8_row_fast(const uint16_t* x, int64_t Dh, bool floor, int8_t* codes, float* s_dq) {
  const __m512i abs_mask = _mm512_set1_epi16(0x7FFF);
  __m512i m = _mm512_and_si512(_mm512_loadu_si512(x), abs_mask);
  for (int64_t j = 32; j < Dh; j += 32) m = _mm512_max_epu16(m, _mm512_and_si512(_mm512_loadu_si512(x + j), abs_mask));
  const __m256i h = _mm256_max_epu16(_mm512_castsi512_si256(m), _mm512_extracti64x4_epi64(m, 1));
  __m128i q = _mm_max_epu16(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));
  q = _mm_max_epu16(q, _mm_srli_si128(q, 8));
  q = _mm_max_epu16(q, _mm_srli_si128(q, 4));
  q = _mm_max_epu16(q, _mm_srli_si128(q, 2));
  const uint32_t amax = static_cast<uint32_t>(_mm_extract_epi16(q, 0)) << 16;
  if (amax >= 0x7F800000u) return false;
  float am = float_of(amax);
  if (floor && am < kQ8Floor) am = kQ8Floor;
  if (am == 0.0f) {
    std::memset(codes, 0, static_cast<size_t>(Dh));
    *s_dq = 0.0f;
    return true;
  }
  const float s_q_scalar = 127.0f / am;
  if (bits_of(s_q_scalar) >= 0x7F800000u) return false;
  *s_dq = 1.0f / s_q_scalar;
  // 64 codes per step, as the engine's BF16 path: unpack widens, vpackssdw / vpacksswb saturate
  // (|y| <= 127.5 here), vpermq restores the element order.
  const __m512 s_q = _mm512_set1_ps(s_q_scalar);
  const __m512i zero = _mm512_setzero_si512();
  const __m512i order = _mm512_setr_epi64(0, 2, 4, 6, 1, 3, 5, 7);
  auto round16 = [&](__m512i bits) -> __m512i {
    const __m512 y = _mm512_mul_ps(_mm512_castsi512_ps(bits), s_q);
    if constexpr (kRhaz) {
      const __m512 t = _mm512_roundscale_ps(y, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
      const __m512 f = _mm512_abs_ps(_mm512_sub_ps(y, t));
      const __mmask16 up = _mm512_cmp_ps_mask(f, _mm512_set1_ps(0.5f), _CMP_GE_OQ);
      const __m512 sign_one = _mm512_castsi512_ps(_mm512_ternarylogic_epi32(
          _mm512_castps_si512(y), _mm512_set1_epi32(INT32_MIN), _mm512_castps_si512(_mm512_set1_ps(1.0f)), 0xEA));
      return _mm512_cvttps_epi32(_mm512_mask_add_ps(t, up, t, sign_one));
    } else {
      return _mm512_cvt_roundps_epi32(y, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    }
  };
  for (int64_t j = 0; j < Dh; j += 64) {
    const __m512i xa = _mm512_loadu_si512(x + j), xb = _mm512_loadu_si512(x + j + 32);
    const __m512i a0 = round16(_mm512_unpacklo_epi16(zero, xa));
    const __m512i a1 = round16(_mm512_unpackhi_epi16(zero, xa));
    const __m512i b0 = round16(_mm512_unpacklo_epi16(zero, xb));
    const __m512i b1 = round16(_mm512_unpackhi_epi16(zero, xb));
    const __m512i packed = _mm512_packs_epi16(_mm512_packs_epi32(a0, a1), _mm512_packs_epi32(b0, b1));
    _mm512_store_si512(codes + j, _mm512_permutexvar_epi64(order, packed));
  }
  return true;
}

// One row group's codes, scales and transposed biased K quads.
struct alignas(64) Group {
  static constexpr int64_t kMaxDh = 512;
  int8_t codes[kRows * kMaxDh];
  int32_t kvt[kMaxDh / 4 * kRows];
  float s_kv[kRows];
};

// Transpose of 16 rows x one 64-byte chunk of codes into the [quad][row] layout with the bias.
void transpose_chunk(Group& gr, int64_t Dh, int v, int64_t c) {
  const __m512i bias = _mm512_set1_epi32(static_cast<int32_t>(0x80808080u));
  const int8_t* base = gr.codes + v * kLanes * Dh + 64 * c;
  __m512i r[16];
  for (int k = 0; k < 16; ++k) r[k] = _mm512_load_si512(base + k * Dh);
  transpose16(r);
  for (int j = 0; j < 16; ++j) _mm512_store_si512(gr.kvt + (16 * c + j) * kRows + v * kLanes, _mm512_xor_si512(r[j], bias));
}

// The next group's preparation as tasks: per row vector v, its 16 row Q8s, then its Dh / 64 chunk
// transposes. Rows past the end are zero rows (codes 0, s_kv 0: they score 0 and are not stored).
template <bool kRhaz>
struct Prep {
  const uint16_t* rows = nullptr;
  int64_t n = 0, Dh = 0, chunks = 0;
  bool floor = true;
  Group* gr = nullptr;
  int next = 0, total = 0;
  uint32_t bad = 0;  // rows the engine must quantize (non-finite amax, overflowed s_q)
  int64_t interval = 1 << 30;

  void start(const uint16_t* r, int64_t rows_n, Group* g, int64_t steps) {
    rows = r, n = rows_n, gr = g, next = 0, bad = 0;
    total = static_cast<int>(kVecs * (kLanes + chunks));
    interval = max64(1, steps / total);
  }
  bool pending() const { return next < total; }
  inline void run() {
    const int per = static_cast<int>(kLanes + chunks), v = next / per, k = next % per;
    ++next;
    if (k < kLanes) {
      const int64_t i = v * kLanes + k;
      if (i < n) {
        if (!q8_row_fast<kRhaz>(rows + i * Dh, Dh, floor, gr->codes + i * Dh, &gr->s_kv[i])) bad |= 1u << i;
      } else {
        std::memset(gr->codes + i * Dh, 0, static_cast<size_t>(Dh));
        gr->s_kv[i] = 0.0f;
      }
    } else {
      transpose_chunk(*gr, Dh, v, k - kLanes);
    }
  }
  // Runs what is left, then re-quantizes the engine's rows and redoes their transposes.
  void finish(const Q8Params& p) {
    while (pending()) run();
    if (bad == 0) return;
    Q8Rows qa;
    qa.x = rows;
    qa.x_dtype = DType::bf16;
    qa.n = Dh;
    qa.params = p;
    qa.codes = gr->codes;
    qa.scale = gr->s_kv;
    qa.scale_dtype = DType::fp32;
    for (int i = 0; i < kRows; ++i)
      if (bad & (1u << i)) q8_rows_avx512(qa, i, i + 1);
    for (int v = 0; v < kVecs; ++v)
      if ((bad >> (v * kLanes)) & 0xFFFFu)
        for (int64_t c = 0; c < chunks; ++c) transpose_chunk(*gr, Dh, v, c);
  }
};

// Dh % 64 == 0, Dh <= 512, H >= 8: while group g is multiplied, group g + 1 is quantized and
// transposed into the other buffer, and group g + 2 is prefetched.
template <bool kRhaz>
void score_pipelined(const V4ScoreArgs& a, int64_t j0, int64_t j1) {
  static thread_local Group buf[2];
  const int64_t Dh = a.Dh;
  Prep<kRhaz> prep;
  prep.Dh = Dh;
  prep.chunks = Dh / 64;
  prep.floor = a.q8.floor;
  const int64_t steps = (a.H / kHeadBlock) * a.Dq;
  prep.start(a.cache + j0 * Dh, min64(kRows, j1 - j0), &buf[0], steps);
  prep.finish(a.q8);
  const int64_t pf_total = (kRows * Dh * 2 + 63) / 64;
  const int64_t blocks = a.H / kHeadBlock;
  const int pf_per = static_cast<int>((pf_total + blocks - 1) / blocks);
  int cur = 0;
  for (int64_t g = j0; g < j1; g += kRows, cur ^= 1) {
    const int64_t n = min64(kRows, j1 - g);
    const Group& gr = buf[cur];
    if (g + kRows < j1)
      prep.start(a.cache + (g + kRows) * Dh, min64(kRows, j1 - g - kRows), &buf[cur ^ 1], steps);
    else
      prep.next = prep.total;  // nothing left to prepare
    const __m512 s_kv[kVecs] = {_mm512_load_ps(gr.s_kv), _mm512_load_ps(gr.s_kv + kLanes)};
    __m512 score[kVecs] = {_mm512_setzero_ps(), _mm512_setzero_ps()};
    // Group g + 2 (past j1 too: with static schedules this thread's next work item continues the
    // rows; a prefetch never faults).
    const char* pf = reinterpret_cast<const char*>(a.cache + (g + 2 * kRows) * Dh);
    int64_t pf_done = 0, h = 0;
    for (; h + kHeadBlock <= a.H; h += kHeadBlock) {
      const int n_pf = static_cast<int>(min64(pf_per, pf_total - pf_done));
      head_block8(a, gr.kvt, h, score, pf + 64 * pf_done, n_pf, prep);
      pf_done += n_pf;
    }
    for (; h < a.H; ++h) head_block1(a, gr.kvt, h, score);
    for (int v = 0; v < kVecs; ++v) {
      const int64_t m = min64(kLanes, n - v * kLanes);
      if (m <= 0) break;
      _mm512_mask_storeu_ps(a.score + g + v * kLanes, static_cast<__mmask16>((1u << m) - 1),
                            _mm512_mul_ps(score[v], s_kv[v]));
    }
    if (g + kRows < j1) prep.finish(a.q8);
  }
}

}  // namespace

void v4_score_rows_avx512(const V4ScoreArgs& a, int64_t j0, int64_t j1) {
  if (j1 <= j0) return;
  if (a.Dh % 64 == 0 && a.Dh <= Group::kMaxDh && a.H >= kHeadBlock) {
    if (a.q8.rmode == Round::rhaz)
      score_pipelined<true>(a, j0, j1);
    else
      score_pipelined<false>(a, j0, j1);
  } else {
    score_generic(a, j0, j1);
  }
}

}  // namespace kcs::opt
