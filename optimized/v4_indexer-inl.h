// K3 score path, the ISA-neutral part of optimized/avx512/v4_indexer.cc and
// optimized/avx2/v4_indexer.cc (the scheme and its numerics: optimized/v4_indexer.h). Each ISA file
// defines, before including this one, what truly differs between the instruction sets:
//   kVecs, kHeadBlock    row vectors per group, heads per micro-kernel block
//   kQuadWords           dwords per K quad and row in the packed group (1 AVX-512, 2 AVX2)
//   kChunk               code bytes per row that pack_chunk transposes at once
//   KV, QB, load_kv, bcast_q, acc_init, dot, relu_f
//                        the int8 product: K quads of kLanes rows, one head's codes broadcast
//   pack_chunk, pack_quad  codes [row][Dh] -> the [quad][word][row] layout of dot
//   amax_rows, q8_codes_fast  the Q8 of cache rows with the Q8 engine's exact steps: the |bf16|
//                        maxima of kLanes rows at once, then one row's codes (Dh % kChunk == 0)
// A group of kRows = kVecs·kLanes cache rows is quantized and packed into L1, then multiplied by
// blocks of kHeadBlock heads (kHeadBlock·kVecs accumulators); every head's epilogue adds to the
// rows' scores in ascending head order, whatever the blocking, so both ISAs give the same bits.
// While group g is multiplied, group g + 1 is prepared between the head blocks (its Q8s and
// transposes use other execution ports than the products, and the accumulators are dead there, so
// nothing spills) and group g + 2 is prefetched.
#pragma once

#include <cstdint>
#include <cstring>

#include "optimized/q8.h"
#include "optimized/v4_indexer.h"

namespace kcs::opt {

namespace {

constexpr int kRows = kLanes * kVecs;

// One row group: row-major codes (stride Dh), row scales, the packed K quads.
template <int64_t kMaxDh>
struct alignas(64) Group {
  int8_t codes[kRows * kMaxDh + 64];
  int32_t kvt[(kMaxDh / 4) * kQuadWords * kRows];
  float s_kv[kRows];
  float s_q[kRows];
  uint8_t how[kRows];  // per row, set by q8_scales: what q8_codes does (an ISA's own codes)
};

// Q8 of cache rows (bit-exact with the Q8 engine): the scales of a row vector's rows at once, then
// each row's codes; the engine takes the rows whose amax is not finite or whose s_q overflows, and
// every row when Dh is not a multiple of kChunk.
constexpr uint8_t kFast = 0, kZero = 1, kEngine = 2;

inline void q8_scales(const Q8Params& p, const uint16_t* x, int64_t n, int64_t Dh, float* s_q, float* s_dq,
                      uint8_t* how) {
  if (n <= 0) return;
  if (Dh % kChunk != 0) {
    for (int64_t i = 0; i < n; ++i) how[i] = kEngine;
    return;
  }
  alignas(64) uint32_t amax[kLanes];
  alignas(64) float am[kLanes], sq[kLanes], sdq[kLanes];
  storev_u32(amax, amax_rows(x, n, Dh));
  VF a = loadv_f32(reinterpret_cast<const float*>(amax));
  if (p.floor) a = max_f(a, set1_f(kQ8Floor));
  const VF q = div_f(set1_f(127.0f), a);
  storev_f32(am, a);
  storev_f32(sq, q);
  storev_f32(sdq, div_f(set1_f(1.0f), q));
  for (int64_t i = 0; i < n; ++i) {
    s_q[i] = sq[i];
    s_dq[i] = sdq[i];
    if (amax[i] >= 0x7F800000u)
      how[i] = kEngine;
    else if (am[i] == 0.0f)
      how[i] = kZero;
    else
      how[i] = bits_of(sq[i]) >= 0x7F800000u ? kEngine : kFast;
  }
}

inline void q8_codes(const Q8Params& p, const uint16_t* x, int64_t Dh, float s_q, uint8_t how, int8_t* codes,
                     float* s_dq) {
  if (how == kFast) {
    if (p.rmode == Round::rhaz)
      q8_codes_fast<true>(x, Dh, s_q, codes);
    else
      q8_codes_fast<false>(x, Dh, s_q, codes);
  } else if (how == kZero) {
    std::memset(codes, 0, static_cast<size_t>(Dh));
    *s_dq = 0.0f;
  } else {
    Q8Rows qa;
    qa.x = x;
    qa.x_dtype = DType::bf16;
    qa.n = Dh;
    qa.params = p;
    qa.codes = codes;
    qa.scale = s_dq;
    qa.scale_dtype = DType::fp32;
    KCS_ISA_FN(q8_rows)(qa, 0, 1);
  }
}

// kHeads heads from h0 against the group's packed rows; `pf`: cache lines to prefetch meanwhile.
template <int kHeads>
inline void head_block(const V4ScoreArgs& a, const int32_t* kvt, int64_t h0, VF (&score)[kVecs], const char* pf,
                       int64_t pf_lines) {
  VI acc[kHeads][kVecs];
#pragma GCC unroll 8
  for (int i = 0; i < kHeads; ++i)
#pragma GCC unroll 4
    for (int v = 0; v < kVecs; ++v) acc[i][v] = acc_init(a, h0 + i);
  for (int64_t l = 0; l < pf_lines; ++l) _mm_prefetch(pf + 64 * l, _MM_HINT_T1);
  const int64_t Dq = a.Dq;
  const int32_t* qd = a.qh_dw + kQuadWords * h0 * Dq;
  for (int64_t q = 0; q < Dq; ++q, ++qd) {
    KV kv[kVecs];
#pragma GCC unroll 4
    for (int v = 0; v < kVecs; ++v) kv[v] = load_kv(kvt + q * kQuadWords * kRows + v * kLanes);
#pragma GCC unroll 8
    for (int i = 0; i < kHeads; ++i) {
      const QB b = bcast_q(qd + kQuadWords * i * Dq, Dq);
#pragma GCC unroll 4
      for (int v = 0; v < kVecs; ++v) dot(acc[i][v], kv[v], b);
    }
  }
  // f32(max(acc, 0)) ⊗ (s_qh ⊗ w), heads ascending; s_kv at the end (optimized/v4_indexer.h).
#pragma GCC unroll 8
  for (int i = 0; i < kHeads; ++i) {
    const VF c = set1_f(a.s_qh[h0 + i] * a.w[h0 + i]);
#pragma GCC unroll 4
    for (int v = 0; v < kVecs; ++v) score[v] = add_f(score[v], mul_f(relu_f(acc[i][v]), c));
  }
}

// Group preparation as tasks: per row vector, the scales of its rows, each row's codes, then its
// chunk transposes (or one scalar pack of all its rows when Dh is not a multiple of kChunk). Rows
// past n are zero rows (codes 0, s_kv 0: they score 0 and are never stored).
template <int64_t kMaxDh>
struct Prep {
  const V4ScoreArgs* a = nullptr;
  const uint16_t* rows = nullptr;
  int64_t n = 0, chunks = 0;
  Group<kMaxDh>* gr = nullptr;
  int next = 0, total = 0, per = 0;

  void start(const uint16_t* r, int64_t rows_n, Group<kMaxDh>* g) {
    rows = r, n = rows_n, gr = g, next = 0;
    per = static_cast<int>(1 + kLanes + (chunks > 0 ? chunks : 1));
    total = kVecs * per;
  }
  bool pending() const { return next < total; }
  void run() {
    const int v = next / per;
    int k = next % per;
    ++next;
    const int64_t Dh = a->Dh;
    if (k == 0) {
      const int64_t i0 = int64_t{v} * kLanes;
      q8_scales(a->q8, rows + i0 * Dh, min64(kLanes, n - i0), Dh, gr->s_q + i0, gr->s_kv + i0, gr->how + i0);
      return;
    }
    --k;
    if (k < kLanes) {
      const int64_t i = int64_t{v} * kLanes + k;
      if (i < n) {
        q8_codes(a->q8, rows + i * Dh, Dh, gr->s_q[i], gr->how[i], gr->codes + i * Dh, &gr->s_kv[i]);
      } else {
        std::memset(gr->codes + i * Dh, 0, static_cast<size_t>(Dh));
        gr->s_kv[i] = 0.0f;
      }
    } else if (chunks > 0) {
      pack_chunk(gr->codes, Dh, gr->kvt, v, k - kLanes);
    } else {
      for (int r = 0; r < kLanes; ++r) {
        const int8_t* c = gr->codes + (int64_t{v} * kLanes + r) * Dh;
        for (int64_t q = 0; q < a->Dq; ++q) {
          int8_t quad[4] = {0, 0, 0, 0};
          for (int64_t d = 4 * q; d < Dh && d < 4 * q + 4; ++d) quad[d - 4 * q] = c[d];
          pack_quad(gr->kvt, q, v * kLanes + r, quad);
        }
      }
    }
  }
  void finish() {
    while (pending()) run();
  }
};

// Rows [j0, j1) of one token. kPipe: double-buffered groups, the next one prepared between the
// current one's head blocks; else each group is prepared, then multiplied.
template <int64_t kMaxDh, bool kPipe>
void score_span(const V4ScoreArgs& a, int64_t j0, int64_t j1) {
  static thread_local Group<kMaxDh> buf[kPipe ? 2 : 1];
  const int64_t Dh = a.Dh;
  Prep<kMaxDh> prep;
  prep.a = &a;
  prep.chunks = Dh % kChunk == 0 ? Dh / kChunk : 0;
  prep.start(a.cache + j0 * Dh, min64(kRows, j1 - j0), &buf[0]);
  prep.finish();
  const int64_t blocks = max64(1, a.H / kHeadBlock + (a.H % kHeadBlock + 1) / 2);
  const int64_t pf_total = (kRows * Dh * 2 + 63) / 64;
  const int64_t pf_per = (pf_total + blocks - 1) / blocks;
  int cur = 0;
  for (int64_t g = j0; g < j1; g += kRows) {
    const int64_t n = min64(kRows, j1 - g);
    const Group<kMaxDh>& gr = buf[cur];
    const bool more = g + kRows < j1;
    if (kPipe && more) prep.start(a.cache + (g + kRows) * Dh, min64(kRows, j1 - g - kRows), &buf[cur ^ 1]);
    const int per_block = kPipe && more ? static_cast<int>((prep.total + blocks - 1) / blocks) : 0;
    VF score[kVecs];
    for (int v = 0; v < kVecs; ++v) score[v] = zero_f();
    // Group g + 2 (past j1 too: with static schedules this thread's next work item continues the
    // rows; a prefetch never faults).
    const char* pf = reinterpret_cast<const char*>(a.cache + (g + (kPipe ? 2 : 1) * kRows) * Dh);
    int64_t pf_done = 0, h = 0;
    auto between = [&](int64_t lines) {
      pf_done += lines;
      for (int k = 0; k < per_block && prep.pending(); ++k) prep.run();
    };
    for (; h + kHeadBlock <= a.H; h += kHeadBlock) {
      const int64_t lines = min64(pf_per, pf_total - pf_done);
      head_block<kHeadBlock>(a, gr.kvt, h, score, pf + 64 * pf_done, lines);
      between(lines);
    }
    for (; h + 2 <= a.H; h += 2) {
      const int64_t lines = min64(pf_per, pf_total - pf_done);
      head_block<2>(a, gr.kvt, h, score, pf + 64 * pf_done, lines);
      between(lines);
    }
    for (; h < a.H; ++h) {
      const int64_t lines = min64(pf_per, pf_total - pf_done);
      head_block<1>(a, gr.kvt, h, score, pf + 64 * pf_done, lines);
      between(lines);
    }
    for (int v = 0; v < kVecs; ++v) {
      const int64_t m = min64(kLanes, n - v * kLanes);
      if (m <= 0) break;
      storen_f32(a.score + g + v * kLanes, mul_f(score[v], loadv_f32(gr.s_kv + v * kLanes)), m);
    }
    if (!more) break;
    if (kPipe) {
      prep.finish();
      cur ^= 1;
    } else {
      prep.start(a.cache + (g + kRows) * Dh, min64(kRows, j1 - g - kRows), &buf[0]);
      prep.finish();
    }
  }
}

// The entry point of each ISA file: short rows double-buffered in L1, long ones one group at a time.
inline void score_rows(const V4ScoreArgs& a, int64_t j0, int64_t j1) {
  if (j1 <= j0) return;
  if (a.Dh <= 512)
    score_span<512, true>(a, j0, j1);
  else
    score_span<4096, false>(a, j0, j1);
}

}  // namespace

}  // namespace kcs::opt
