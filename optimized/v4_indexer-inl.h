// K3 score path, the ISA-neutral body of optimized/avx512/v4_indexer.cc and
// optimized/avx2/v4_indexer.cc (the scheme and its numerics: optimized/v4_indexer.h). Each ISA file
// defines, before including this one, what truly differs between the instruction sets:
//   kVecs, kHeadBlock    row vectors per group, heads per micro-kernel block
//   kQuadWords, kBiased  dwords per K quad and row in the packed group (1 AVX-512, 2 AVX2); whether
//                        the accumulators start at qh_init (the AVX-512 codes' +128 bias)
//   dot                  acc += a K quad of kLanes rows x one head's quad (broadcast)
//   put_quads, pack_quad one dword of 4 codes per row -> the kQuadWords dwords that dot reads
// A group of kRows = kVecs·kLanes cache rows is quantized and packed into L1, then multiplied by
// blocks of kHeadBlock heads (kHeadBlock·kVecs accumulators); every head's epilogue adds to the
// rows' scores in ascending head order, whatever the blocking, so both ISAs give the same bits.
// While group g is multiplied, group g + 1 is prepared between the head blocks (its Q8s and
// transposes use other execution ports than the products, and the accumulators are dead there, so
// nothing spills) and group g + 2 is prefetched.
#pragma once

#include <cstdint>
#include <cstring>
#include <type_traits>

#include "optimized/q8_row-inl.h"
#include "optimized/v4_indexer.h"

namespace kcs::opt {

namespace {

constexpr int kRows = kLanes * kVecs;
constexpr int64_t kChunk = sizeof(VI);  // code bytes per row that pack_chunk transposes at once
constexpr int kLanes128 = kLanes / 4;   // 128-bit lanes per vector

// One row group: row-major codes (stride Dh), row scales, the packed K quads.
template <int64_t kMaxDh>
struct alignas(64) Group {
  int8_t codes[kRows * kMaxDh + 64];
  int32_t kvt[(kMaxDh / 4) * kQuadWords * kRows];
  float s_kv[kRows];
  float s_q[kRows];
  uint8_t how[kRows];  // per row, set by q8_scales: what q8_codes does
};

// kLanes x kLanes dwords transposed: on entry r[k] = dwords of row k, on exit r[j] = dword j of
// every row. 4 x 4 within 128-bit lanes (vpunpck), then the matrices of 128-bit lanes.
inline __attribute__((always_inline)) void transpose(VI (&r)[kLanes]) {
  VI t[kLanes];
#pragma GCC unroll 16
  for (int k = 0; k < kLanes / 2; ++k) {
    t[2 * k] = zip_lo_u32(r[2 * k], r[2 * k + 1]);
    t[2 * k + 1] = zip_hi_u32(r[2 * k], r[2 * k + 1]);
  }
#pragma GCC unroll 16
  for (int g = 0; g < kLanes128; ++g) {  // r[4g + j], lane L: dword 4L + j of rows 4g .. 4g + 3
    r[4 * g] = zip_lo_u64(t[4 * g], t[4 * g + 2]);
    r[4 * g + 1] = zip_hi_u64(t[4 * g], t[4 * g + 2]);
    r[4 * g + 2] = zip_lo_u64(t[4 * g + 1], t[4 * g + 3]);
    r[4 * g + 3] = zip_hi_u64(t[4 * g + 1], t[4 * g + 3]);
  }
#pragma GCC unroll 4
  for (int j = 0; j < 4; ++j) {
    VI v[kLanes128];
#pragma GCC unroll 4
    for (int g = 0; g < kLanes128; ++g) v[g] = r[4 * g + j];
    transpose_lanes(v);
#pragma GCC unroll 4
    for (int L = 0; L < kLanes128; ++L) t[4 * L + j] = v[L];
  }
#pragma GCC unroll 16
  for (int k = 0; k < kLanes; ++k) r[k] = t[k];
}

// Row vector v's rows x chunk c of their codes -> kLanes quads of the packed layout.
inline void pack_chunk(const int8_t* codes, int64_t Dh, int32_t* kvt, int v, int64_t c) {
  const int8_t* base = codes + v * kLanes * Dh + kChunk * c;
  VI r[kLanes];
#pragma GCC unroll 16
  for (int k = 0; k < kLanes; ++k) r[k] = loadv_u32(base + k * Dh);
  transpose(r);
#pragma GCC unroll 16
  for (int j = 0; j < kLanes; ++j) put_quads(kvt + (kLanes * c + j) * kQuadWords * kRows + v * kLanes, r[j]);
}

// Lane r: where transpose_lanes-folded row r ends up in amax_rows (4·(r mod L) + r / L, L 128-bit lanes).
struct RowOrder {
  alignas(64) int32_t i[kLanes];
};
constexpr RowOrder kAmaxOrder = [] {
  RowOrder o{};
  for (int r = 0; r < kLanes; ++r) o.i[r] = 4 * (r % kLanes128) + r / kLanes128;
  return o;
}();

// The |bf16| maxima of rows [0, n) (n <= kLanes), as binary32 bit patterns in lanes 0 .. n - 1
// (the others 0): per row a max over its vectors, then a transposing tree over the rows.
inline VI amax_rows(const uint16_t* x, int64_t n, int64_t Dh) {
  const VI abs_mask = set1_u16(0x7FFF);
  VI m[kLanes];
#pragma GCC unroll 16
  for (int r = 0; r < kLanes; ++r) {
    m[r] = set1_u32(0);
    if (r >= n) continue;
    const uint16_t* row = x + r * Dh;
    VI a = and_i(loadv_u32(row), abs_mask);
    for (int64_t j = 2 * kLanes; j < Dh; j += 2 * kLanes) a = max_u16(a, and_i(loadv_u32(row + j), abs_mask));
    m[r] = a;
  }
  // f[g], lane L: the words of row g·kLanes128 + L (a lane transpose per kLanes128 rows, then max).
  VI f[4];
#pragma GCC unroll 4
  for (int g = 0; g < 4; ++g) {
    transpose_lanes(&m[g * kLanes128]);
    f[g] = m[g * kLanes128];
#pragma GCC unroll 4
    for (int L = 1; L < kLanes128; ++L) f[g] = max_u16(f[g], m[g * kLanes128 + L]);
  }
  // Within 128-bit lanes: qwords (a: rows L, L + kLanes128; b: the next two), then dwords (dword m
  // of lane L: row m·kLanes128 + L), then words, to the top half of the dword.
  const VI a = max_u16(zip_lo_u64(f[0], f[1]), zip_hi_u64(f[0], f[1]));
  const VI b = max_u16(zip_lo_u64(f[2], f[3]), zip_hi_u64(f[2], f[3]));
  const VI t = max_u16(shuffle_u32<0x88>(a, b), shuffle_u32<0xDD>(a, b));
  const VI w = shl_u32<16>(max_u16(t, shr_u32<16>(t)));
  return permute_u32(w, loadv_u32(kAmaxOrder.i));
}

// Q8 of cache rows (bit-exact with the Q8 engine): the scales of a row vector's rows at once, then
// each row's codes (pass 2 of optimized/q8_row-inl.h); q8_row itself takes the rows whose amax is
// not finite or whose s_q overflows, and every row when Dh is not a multiple of kChunk.
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
  if (how == kFast) {  // pass 2 inline (Dh % kChunk == 0: whole blocks)
    const auto blocks = [&](auto rhaz) {
      for (int64_t j = 0; j < Dh; j += kChunk)
        storev_u32(codes + j, codes_block<true, decltype(rhaz)::value, false>(x, j, set1_f(s_q)));
    };
    if (p.rmode == Round::rhaz)
      blocks(std::true_type{});
    else
      blocks(std::false_type{});
  } else if (how == kZero) {
    std::memset(codes, 0, static_cast<size_t>(Dh));
    *s_dq = 0.0f;
  } else {
    *s_dq = q8_row<true>(x, Dh, p, codes);
  }
}

inline VI acc_init(const V4ScoreArgs& a, int64_t h) {
  return kBiased ? set1_u32(static_cast<uint32_t>(a.qh_init[h])) : set1_u32(0);
}
inline VF relu_f(VI acc) { return cvt_i32_f(max_i32(acc, set1_u32(0))); }

// kHeads heads from h0 against the group's packed rows; `pf`: cache lines to prefetch meanwhile.
// Out of line, so that the group preparation inlined around it cannot push its accumulators to
// memory (it did, AVX-512: 1.9x slower).
template <int kHeads>
__attribute__((noinline)) void head_block(const V4ScoreArgs& a, const int32_t* kvt, int64_t h0,
                                          VF (&score)[kVecs], const char* pf, int64_t pf_lines) {
  VI acc[kHeads][kVecs];
#pragma GCC unroll 8
  for (int i = 0; i < kHeads; ++i)
#pragma GCC unroll 4
    for (int v = 0; v < kVecs; ++v) acc[i][v] = acc_init(a, h0 + i);
  for (int64_t l = 0; l < pf_lines; ++l) prefetch_l2(pf + 64 * l);
  const int64_t Dq = a.Dq;
  const int32_t* qd = a.qh_dw + kQuadWords * h0 * Dq;
  for (int64_t q = 0; q < Dq; ++q, ++qd) {
    // A K quad of the group's rows (kQuadWords vectors per row vector), each head's quad broadcast.
    VI kv[kVecs][kQuadWords], b[kQuadWords];
#pragma GCC unroll 4
    for (int v = 0; v < kVecs; ++v)
#pragma GCC unroll 2
      for (int w = 0; w < kQuadWords; ++w) kv[v][w] = loadv_u32(kvt + (q * kQuadWords + w) * kRows + v * kLanes);
#pragma GCC unroll 8
    for (int i = 0; i < kHeads; ++i) {
      // Word w at qi[w·Dq], written out: as w * Dq, GCC gave each (head, word) its own index
      // register and spilled them (AVX2).
      const int32_t* qi = qd + kQuadWords * i * Dq;
      b[0] = set1_u32(static_cast<uint32_t>(qi[0]));
      if constexpr (kQuadWords == 2) b[kQuadWords - 1] = set1_u32(static_cast<uint32_t>(qi[Dq]));
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
    // Blocks of kHeadBlock heads, then 2, then 1; after each, a share of the prefetches and of the
    // next group's preparation.
    auto block = [&](auto heads) {
      const int64_t lines = min64(pf_per, pf_total - pf_done);
      head_block<decltype(heads)::value>(a, gr.kvt, h, score, pf + 64 * pf_done, lines);
      h += decltype(heads)::value;
      pf_done += lines;
      for (int k = 0; k < per_block && prep.pending(); ++k) prep.run();
    };
    while (h + kHeadBlock <= a.H) block(std::integral_constant<int, kHeadBlock>{});
    while (h + 2 <= a.H) block(std::integral_constant<int, 2>{});
    while (h < a.H) block(std::integral_constant<int, 1>{});
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
