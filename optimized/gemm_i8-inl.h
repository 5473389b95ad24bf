// INT8 GEMM + dequant (spec §1.2), the ISA-neutral engine of optimized/avx512/gemm_i8.cc and
// optimized/avx2/gemm_i8.cc, as gemm_i8_<isa> and pack_i8_panels_<isa>. Bit-identical to
// gemm_i8_reference: the int32 sums are exact and no blocking changes a bit. Each ISA file first
// defines, in its anonymous namespace, the integer core over K steps of kKs rows (optimized/gemm_i8.h
// says how each ISA forms exact sums): load_w (a step's weights for one sub-block of kSub columns,
// kSv vectors), a_bcast (a step's activations of one row, broadcast), dot_acc, row_corr (the
// accumulators' start), unpermute_direct (the direct path's column order back to columns),
// cvt_i32_f32, pack_group (one K step of one packed panel), and the blocking constants below.
//
// Two loop structures, one per weight source:
//   packed  weights from pack_i8_panels_<isa>'s layout, in column order. Column chunks of
//           kChunkCols outermost (their K x kChunkCols bytes stay in L2), then row chunks of
//           kChunkRows, K passes of k_block (default all K), register tiles of MR rows x
//           nb_for(MR) sub-blocks.
//   direct  row-major W, interleaved in registers. A weight row must be read in long runs: a
//           short piece per row at a stride of N bytes streams at a fraction of DRAM bandwidth.
//           So one group of <= kMaxRows rows at a time, columns in super-chunks of kDirectCols
//           whose partial sums wait in a stack buffer, and K passes of kDirectSteps steps swept
//           across the super-chunk, with the rows kPrefetchSteps steps ahead prefetched into L2.
// Partial sums between K passes are exact integers.
//
// Epilogue per row: f = cvt_i32_f32 (nearest even), g = (f * s_row) * s_col as two separate
// multiplies (no FMA), BF16 by integer rounding with subnormals kept and NaN -> sign|0x7FC0.
#pragma once

#include <cstdint>
#include <type_traits>

#include "optimized/gemm_i8.h"

namespace kcs::opt {

namespace {

// The tile helpers must inline into one loop: a call would force the accumulators to memory.
#define KCS_INLINE inline __attribute__((always_inline))

constexpr int kSv = static_cast<int>(kSub / kLanes);  // vectors per sub-block
// Direct path: the most K steps of one pass (a longer k_block is split into passes of this many,
// which gives the same bits), whose A broadcasts direct_pass keeps on the stack.
constexpr int64_t kPassSteps = kDirectSteps > 8 ? kDirectSteps : 8;

// Where the weights of one call come from.
struct WSrc {
  const int8_t* w = nullptr;  // direct: row-major [k, n]
  int64_t ldw = 0;
  const uint8_t* packed = nullptr;  // packed layout of this ISA
  int64_t ns = 0;                   // K steps per panel (ceil(k / kKs))
  int64_t k = 0;
};

// Accumulates steps [s0, s1) (all whole, or the last one partial when kTail) of MR rows into NB
// sub-blocks starting at column c.
template <int MR, int NB, bool kTail>
KCS_INLINE void tile_steps(const WSrc& s, const int8_t* a, int64_t lda, int64_t c, const Cols* cols, int64_t s0,
                           int64_t s1, VI (&acc)[MR][NB * kSv]) {
  for (int64_t q = s0; q < s1; ++q) {
    VI wv[NB][kSv];
#pragma GCC unroll 4
    for (int b = 0; b < NB; ++b) load_w<true, kTail>(s, c + b * kSub, cols[b], q, wv[b]);
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r) {
      const VI av = a_bcast<kTail>(a + r * lda + kKs * q, s.k - kKs * q);
#pragma GCC unroll 4
      for (int b = 0; b < NB; ++b)
#pragma GCC unroll 4
        for (int j = 0; j < kSv; ++j) acc[r][b * kSv + j] = dot_acc(acc[r][b * kSv + j], wv[b][j], av);
    }
  }
}

// Stores one row's columns [c + lo, c + hi) of the sub-block at c (v in column order).
inline void epilogue_row(const GemmI8Args& g, int64_t row, int64_t c, int64_t lo, int64_t hi, const VI* v) {
  const VF sr = set1_f(g.s_row[row]);
  for (int j = 0; j < kSv; ++j) {
    const int64_t col = c + kLanes * j, b = lo - kLanes * j, e = hi - kLanes * j;
    if (e <= 0 || b >= kLanes) continue;
    if (g.acc) storer_i32(g.acc + row * g.ldacc + col, v[j], b, e);
    if (!g.y) continue;
    const VF y = mul_f(mul_f(cvt_i32_f32(v[j]), sr), loadr_f32(g.s_col + col, b, e));
    if (g.y_dtype == DType::bf16)
      storer_u16(static_cast<uint16_t*>(g.y) + row * g.ldy + col, narrow_bf16(y), b, e);
    else
      storer_f32(static_cast<float*>(g.y) + row * g.ldy + col, y, b, e);
  }
}

// Everything one call shares.
struct Call {
  const GemmI8Args* g;
  WSrc src;
  int64_t n0, n1;   // the call's columns
  int64_t ns_full;  // whole K steps
  int64_t ns;       // all K steps (the last may be partial)
};

// One register tile's work: MR rows from `row`, NB sub-blocks from column c0, K steps [s0, s1)
// (s1 may include the partial step). Partial sums between K passes live at sp, row stride
// kChunkCols (packed) or kDirectCols (direct): constants, so that no offset is kept in memory.
struct Job {
  int64_t row;
  const int32_t* corr;  // the tile's rows' row_corr
  int32_t* sp;
  int64_t c0;
  int64_t s0, s1;
  bool first, last;
};

// A tile's accumulators: their start (the rows' corrections, or the partial sums at sp, row
// stride sld), their spill between K passes, and the copy the epilogue reads, whose pointer use
// would otherwise keep `acc` in memory through the K loop (GCC then stores every accumulator on
// every iteration).
template <int MR, int NV>
KCS_INLINE void load_acc(const Job& jb, const int32_t* sp, int64_t sld, VI (&acc)[MR][NV]) {
#pragma GCC unroll 8
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 16
    for (int i = 0; i < NV; ++i)
      acc[r][i] = jb.first ? set1_u32(static_cast<uint32_t>(jb.corr[r])) : loadv_u32(sp + r * sld + kLanes * i);
}
template <int MR, int NV>
KCS_INLINE void save_acc(int32_t* sp, int64_t sld, const VI (&acc)[MR][NV]) {
#pragma GCC unroll 8
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 16
    for (int i = 0; i < NV; ++i) storev_u32(sp + r * sld + kLanes * i, acc[r][i]);
}
template <int MR, int NV>
KCS_INLINE void copy_acc(const VI (&acc)[MR][NV], VI (&out)[MR][NV]) {
#pragma GCC unroll 8
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 16
    for (int i = 0; i < NV; ++i) out[r][i] = acc[r][i];
}

// Packed weights: MR rows x NB sub-blocks over K steps [jb.s0, jb.s1), columns [lo, hi) of each
// sub-block.
template <int MR, int NB>
KCS_INLINE void run_tile(const Call& cl, const Job& jb, const int64_t* lo, const int64_t* hi) {
  const GemmI8Args& g = *cl.g;
  constexpr int64_t sld = kChunkCols;
  VI acc[MR][NB * kSv];
  Cols cols[NB];
#pragma GCC unroll 4
  for (int b = 0; b < NB; ++b) cols[b] = cols_of(lo[b], hi[b]);
  load_acc(jb, jb.sp, sld, acc);
  const int8_t* a = g.a + jb.row * g.lda;
  tile_steps<MR, NB, false>(cl.src, a, g.lda, jb.c0, cols, jb.s0, min64(jb.s1, cl.ns_full), acc);
  if (jb.s1 > cl.ns_full) tile_steps<MR, NB, true>(cl.src, a, g.lda, jb.c0, cols, cl.ns_full, jb.s1, acc);
  if (!jb.last) return save_acc(jb.sp, sld, acc);
  VI out[MR][NB * kSv];  // see copy_acc
  copy_acc(acc, out);
#pragma GCC unroll 8
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 4
    for (int b = 0; b < NB; ++b) {
      epilogue_row(g, jb.row + r, jb.c0 + b * kSub, lo[b], hi[b], &out[r][b * kSv]);
    }
}

// One packed register tile (see Job).
template <int MR, int NB>
__attribute__((noinline)) void tile(const Call& cl, const Job& jb) {
  int64_t lo[NB], hi[NB];
#pragma GCC unroll 4
  for (int b = 0; b < NB; ++b) {
    const int64_t c = jb.c0 + b * kSub;
    lo[b] = max64(cl.n0, c) - c;
    hi[b] = min64(cl.n1, c + kSub) - c;
  }
  run_tile<MR, NB>(cl, jb, lo, hi);
}

// MR rows over nsub sub-blocks from jb.c0: nb_for(MR) at a time, then one at a time.
template <int MR>
void tile_rows(const Call& cl, Job jb, int64_t nsub) {
  constexpr int NB = nb_for(MR);
  const int64_t c = jb.c0;
  int32_t* sp = jb.sp;
  int64_t sb = 0;
  for (; sb + NB <= nsub; sb += NB) {
    jb.c0 = c + sb * kSub;
    jb.sp = sp + sb * kSub;
    tile<MR, NB>(cl, jb);
  }
  for (; sb < nsub; ++sb) {
    jb.c0 = c + sb * kSub;
    jb.sp = sp + sb * kSub;
    tile<MR, 1>(cl, jb);
  }
}

// Row-major weights, rows [row, row + MR) x columns [sc, se), K steps [jb.s0, jb.s1) of one pass
// (at most kPassSteps), kSub columns at a time, the partial sums waiting in scratch (row stride
// kDirectCols). The pass's A broadcasts are formed once into `ab` and read from L1 by every column
// block: formed per block they cost more shuffle uops than the weights (AVX2: vpbroadcastw +
// vpmovsxbw per row and pair against 4 for the pair's 16 columns), and the shuffle port bound the
// loop. Whole blocks run a step loop whose loads need no column check.
template <int MR>
__attribute__((noinline)) void direct_pass(const Call& cl, Job jb, int64_t sc, int64_t se) {
  const GemmI8Args& g = *cl.g;
  const WSrc& s = cl.src;
  constexpr int64_t sld = kDirectCols;
  const int64_t s0 = jb.s0, s1 = jb.s1, s1f = min64(s1, cl.ns_full);
  const int8_t* a = g.a + jb.row * g.lda;
  VI ab[MR][kPassSteps];
#pragma GCC unroll 8
  for (int r = 0; r < MR; ++r) {
    for (int64_t q = s0; q < s1f; ++q) ab[r][q - s0] = a_bcast<false>(a + r * g.lda + kKs * q, g.k - kKs * q);
    if (s1 > s1f) ab[r][s1f - s0] = a_bcast<true>(a + r * g.lda + kKs * s1f, g.k - kKs * s1f);
  }
  for (int64_t c = sc; c < se; c += kSub) {
    const int64_t hi = min64(se, c + kSub) - c;
    int32_t* sp = jb.sp + (c - sc);
    VI acc[MR][kSv];
    load_acc(jb, sp, sld, acc);
    const auto step = [&](int64_t q, Cols cols, auto tail) {
      constexpr bool kTail = decltype(tail)::value;
      if constexpr (kPrefetchSteps > 0) {
        if (kKs * (q + kPrefetchSteps) + kKs - 1 < s.k)
          for (int i = 0; i < kKs; ++i)
            prefetch_l2(s.w + (kKs * (q + kPrefetchSteps) + i) * s.ldw + c);
      }
      VI wv[kSv];
      load_w<false, kTail>(s, c, cols, q, wv);
#pragma GCC unroll 8
      for (int r = 0; r < MR; ++r)
#pragma GCC unroll 4
        for (int j = 0; j < kSv; ++j) acc[r][j] = dot_acc(acc[r][j], wv[j], ab[r][q - s0]);
    };
    using NoTail = std::integral_constant<bool, false>;
    // Not unrolled: GCC would reassociate the integer sums of the steps and spill the products.
    if (hi == kSub) {
      const Cols all = cols_of(0, kSub);
#pragma GCC unroll 1
      for (int64_t q = s0; q < s1f; ++q) step(q, all, NoTail{});
    } else {
      const Cols cols = cols_of(0, hi);
#pragma GCC unroll 1
      for (int64_t q = s0; q < s1f; ++q) step(q, cols, NoTail{});
    }
    if (s1 > s1f) step(s1f, cols_of(0, hi), std::integral_constant<bool, true>{});
    if (!jb.last) {
      save_acc(sp, sld, acc);
      continue;
    }
    VI out[MR][kSv];  // see copy_acc
    copy_acc(acc, out);
    for (int r = 0; r < MR; ++r) {
      unpermute_direct(out[r]);
      epilogue_row(g, jb.row + r, c, 0, hi, out[r]);
    }
  }
}

void row_corrections(const GemmI8Args& g, int64_t r0, int64_t r1, int32_t* corr) {
  for (int64_t r = r0; r < r1; ++r) corr[r - r0] = row_corr(g.a + r * g.lda, g.k);
}

// Packed weights: column chunks (from the panel holding n0) outermost, so a chunk's panels stay in
// L2 while row chunks and K passes run over them. The corrections are recomputed per column chunk.
void run_packed(const Call& cl, int64_t m0, int64_t m1, int64_t k_block, int32_t* scratch, int32_t* corr) {
  const int64_t sb = k_block <= 0 ? cl.ns : max64(1, (k_block + kKs - 1) / kKs);
  for (int64_t c = cl.n0 / kSub * kSub; c < cl.n1; c += kChunkCols) {
    const int64_t nsub = (min64(cl.n1, c + kChunkCols) - c + kSub - 1) / kSub;
    for (int64_t mc = m0; mc < m1; mc += kChunkRows) {
      const int64_t me = min64(m1, mc + kChunkRows);
      row_corrections(*cl.g, mc, me, corr);
      for (int64_t s0 = 0; s0 < cl.ns; s0 += sb) {
        for (int64_t r = mc; r < me; r += kMaxRows) {
          const int64_t s1 = min64(cl.ns, s0 + sb);
          int32_t* sp = scratch + (r - mc) * kChunkCols;
          const Job jb{r, corr + (r - mc), sp, c, s0, s1, s0 == 0, s1 == cl.ns};
          with_rows<kMaxRows>(min64(kMaxRows, me - r), [&](auto mr) { tile_rows<decltype(mr)::value>(cl, jb, nsub); });
        }
      }
    }
  }
}

void run_direct(const Call& cl, int64_t m0, int64_t m1, int64_t k_block, int32_t* scratch, int32_t* corr) {
  const int64_t sb = k_block <= 0 ? kDirectSteps : min64(kPassSteps, max64(1, (k_block + kKs - 1) / kKs));
  for (int64_t mc = m0; mc < m1; mc += kMaxRows) {
    const int64_t rows = min64(kMaxRows, m1 - mc);
    row_corrections(*cl.g, mc, mc + rows, corr);
    for (int64_t sc = cl.n0; sc < cl.n1; sc += kDirectCols) {
      const int64_t se = min64(cl.n1, sc + kDirectCols);
      for (int64_t s0 = 0; s0 < cl.ns; s0 += sb) {
        const int64_t s1 = min64(cl.ns, s0 + sb);
        const Job jb{mc, corr, scratch, sc, s0, s1, s0 == 0, s1 == cl.ns};
        with_rows<kMaxRows>(rows, [&](auto mr) { direct_pass<decltype(mr)::value>(cl, jb, sc, se); });
      }
    }
  }
}

#undef KCS_INLINE

}  // namespace

void KCS_ISA_FN(pack_i8_panels)(const int8_t* w, int64_t ldw, int64_t k, int64_t n, int64_t p0, int64_t p1,
                                uint8_t* out) {
  // K groups outer, panels inner: every weight row is read in runs of (p1 - p0) panels (short runs
  // per row at a stride of N bytes read DRAM slowly; see run_direct).
  const int64_t ng = (k + kKs - 1) / kKs;
  for (int64_t q = 0; q < ng; ++q)
    for (int64_t p = p0; p < p1; ++p)
      pack_group(w + kKs * q * ldw + p * kSub, ldw, k - kKs * q, min64(kSub, n - p * kSub),
                 out + (p * ng + q) * kKs * kSub);
  stream_fence();
}

void KCS_ISA_FN(gemm_i8)(const GemmI8Args& g, const PackedI8View* packed, const GemmI8Blocking& b, int64_t m0,
                         int64_t m1, int64_t n0, int64_t n1) {
  if (m0 >= m1 || n0 >= n1 || (!g.acc && !g.y)) return;
  // Partial sums between K passes: kChunkRows x kChunkCols (packed) or kMaxRows x kDirectCols
  // (direct) int32.
  static_assert(kChunkRows * kChunkCols <= kMaxRows * kDirectCols, "one scratch serves both paths");
  alignas(64) int32_t scratch[kMaxRows * kDirectCols];
  alignas(64) int32_t corr[kChunkRows];
  const int64_t ns = (g.k + kKs - 1) / kKs;
  const Call cl{&g, WSrc{g.w, g.ldw, packed ? packed->data : nullptr, ns, g.k}, n0, n1, g.k / kKs, ns};
  if (packed)
    run_packed(cl, m0, m1, b.k_block, scratch, corr);
  else
    run_direct(cl, m0, m1, b.k_block, scratch, corr);
}

}  // namespace kcs::opt
