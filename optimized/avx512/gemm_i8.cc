// INT8 GEMM + dequant (spec §1.2), AVX-512 F/BW/VL + VNNI. Bit-identical to gemm_i8_reference.
//
// Integer core: vpdpbusd(acc, w ^ 0x80 (u8), a (s8, 4 consecutive k broadcast)) sums
// a·(w + 128); the accumulators start at −128·rowsum(a), so after all K they hold the exact
// Σ a·w, and every partial sum on the way (acc_t − 128·Σ_{j>t} a_j) stays within ±2^14·K < 2^31.
// The saturating vpmaddubsw is never used.
//
// Two loop structures, one per weight source:
//   packed  weights from pack_i8_panels_avx512's layout (4 aligned zmm per 64 columns and K quad,
//           biased, in column order). Register tiles of 1 x 64, 2 x 128 or 3..6 x 64 (up to 24
//           zmm accumulators); per K quad one 32-bit broadcast of A per row and rows x cols/16
//           vpdpbusd. Column chunks of 256 outermost (their K x 256 bytes stay in L2), then row
//           chunks of 48, K passes of k_block (default all K), tiles.
//   direct  row-major W: 4 rows x 64 bytes interleaved in registers (vpunpck{l,h}bw +
//           vpunpck{l,h}wd, then xor 0x80) into 4 zmm of {w[4q..4q+3, c]}, columns permuted
//           within them (lane L, dword d of zmm j is column 16L + 4j + d; the epilogue undoes it
//           with two rounds of vshufi32x4). A weight row must be read in long runs: a short piece
//           per row at a stride of N bytes streams at a fraction of DRAM bandwidth. So one group
//           of <= 6 rows at a time, columns in super-chunks of 4096 whose partial sums wait in a
//           stack buffer, and K passes of 2 quads (8 weight rows) swept across the super-chunk,
//           with the rows 8 quads ahead prefetched into L2.
// Partial sums between K passes are exact integers, so no blocking changes a bit.
//
// Epilogue per row: f = cvtdq2ps with embedded round-to-nearest (independent of MXCSR.RC),
// g = (f * s_row) * s_col as two separate vmulps (no FMA), bf16 by integer rounding
// (bits + 0x7FFF + lsb) >> 16 with subnormals kept and NaN -> sign|0x7FC0, as bf16_from_float.
//
// This translation unit is compiled with AVX-512 flags. It calls no inline helper of the kcs
// headers (see optimized/avx512/q8.cc): everything here is static or in an anonymous namespace.
#include <cstdint>
#include <cstring>

#include "optimized/avx512/simd.h"
#include "optimized/gemm_i8.h"

namespace kcs::opt {

namespace {

// The tile helpers must inline into one loop: a call would force the accumulators to memory.
#define KCS_INLINE inline __attribute__((always_inline))

constexpr int64_t kSub = 64;         // columns per sub-block (4 zmm of int32) = packed panel width
constexpr int64_t kChunkCols = 256;  // columns per chunk (4 sub-blocks)
constexpr int64_t kChunkRows = 48;   // rows per chunk (8 tiles of 6 rows)
constexpr int kMaxRows = 6;          // tallest register tile
// Direct path: columns whose partial sums wait in scratch between K passes (a weight row is read
// in runs of up to this many bytes), and the default K quads per pass (8 weight rows in flight).
constexpr int64_t kDirectCols = 4096;
constexpr int64_t kDirectQuads = 2;
// Direct path: each pass's rows are runs of <= 4 KiB that the hardware prefetchers have to pick
// up anew, so the rows 8 quads ahead are prefetched into L2 at the same columns (measured on
// Zen 4, M = 1, K1 q_b: 0.59 -> 0.64 of the read bandwidth limit, median of interleaved runs).
constexpr int64_t kDirectPrefetchQuads = 8;


inline int32_t load_i32(const int8_t* p) {
  int32_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// Bits [lo, hi) of a 64-bit mask (0 <= lo <= hi <= 64).
inline uint64_t bit_range(int64_t lo, int64_t hi) {
  const uint64_t upto_hi = hi >= 64 ? ~uint64_t{0} : (uint64_t{1} << hi) - 1;
  const uint64_t below_lo = lo >= 64 ? ~uint64_t{0} : (uint64_t{1} << lo) - 1;
  return upto_hi & ~below_lo;
}

// 4 rows x 64 bytes -> 4 zmm of 4-byte k groups (column-permuted, see the file comment).
KCS_INLINE void interleave4(__m512i r0, __m512i r1, __m512i r2, __m512i r3, __m512i out[4]) {
  const __m512i t0 = _mm512_unpacklo_epi8(r0, r1), t1 = _mm512_unpackhi_epi8(r0, r1);
  const __m512i t2 = _mm512_unpacklo_epi8(r2, r3), t3 = _mm512_unpackhi_epi8(r2, r3);
  out[0] = _mm512_unpacklo_epi16(t0, t2);
  out[1] = _mm512_unpackhi_epi16(t0, t2);
  out[2] = _mm512_unpacklo_epi16(t1, t3);
  out[3] = _mm512_unpackhi_epi16(t1, t3);
}

// Inverse of interleave4's column permutation on 4 int32 vectors: 4x4 transpose of 128-bit lanes.
KCS_INLINE void unpermute4(__m512i v[4]) {
  const __m512i t0 = _mm512_shuffle_i32x4(v[0], v[1], _MM_SHUFFLE(1, 0, 1, 0));
  const __m512i t1 = _mm512_shuffle_i32x4(v[2], v[3], _MM_SHUFFLE(1, 0, 1, 0));
  const __m512i t2 = _mm512_shuffle_i32x4(v[0], v[1], _MM_SHUFFLE(3, 2, 3, 2));
  const __m512i t3 = _mm512_shuffle_i32x4(v[2], v[3], _MM_SHUFFLE(3, 2, 3, 2));
  v[0] = _mm512_shuffle_i32x4(t0, t1, _MM_SHUFFLE(2, 0, 2, 0));
  v[1] = _mm512_shuffle_i32x4(t0, t1, _MM_SHUFFLE(3, 1, 3, 1));
  v[2] = _mm512_shuffle_i32x4(t2, t3, _MM_SHUFFLE(2, 0, 2, 0));
  v[3] = _mm512_shuffle_i32x4(t2, t3, _MM_SHUFFLE(3, 1, 3, 1));
}

// Σ_k a[k] in int32 (exact: |sum| <= 128 K < 2^24): vpdpbusd of the s8 bytes with u8 ones.
int32_t row_sum(const int8_t* a, int64_t k) {
  const __m512i ones = _mm512_set1_epi8(1);
  __m512i s0 = _mm512_setzero_si512(), s1 = _mm512_setzero_si512();
  int64_t j = 0;
  for (; j + 128 <= k; j += 128) {
    s0 = _mm512_dpbusd_epi32(s0, ones, _mm512_loadu_si512(a + j));
    s1 = _mm512_dpbusd_epi32(s1, ones, _mm512_loadu_si512(a + j + 64));
  }
  for (; j < k; j += 64) {
    const __mmask64 m = k - j >= 64 ? ~__mmask64{0} : static_cast<__mmask64>(bit_range(0, k - j));
    s0 = _mm512_dpbusd_epi32(s0, ones, _mm512_maskz_loadu_epi8(m, a + j));
  }
  return _mm512_reduce_add_epi32(_mm512_add_epi32(s0, s1));
}

// Where the weights of one call come from.
struct WSrc {
  const int8_t* w = nullptr;  // direct: row-major [k, n]
  int64_t ldw = 0;
  const uint8_t* packed = nullptr;  // packed layout (avx512)
  int64_t nq = 0;                   // K quads per panel (ceil(k / 4))
  int64_t k = 0;
};

// 4 zmm of biased weights for columns [c, c + 64) and K quad q. Direct loads are masked to the
// columns `cols` (relative to c) so nothing outside the call's columns is read. kTail: the quad
// runs past K; missing rows load as zero (their A bytes are zero too).
template <bool kPacked, bool kTail>
KCS_INLINE void load_w(const WSrc& s, int64_t c, __mmask64 cols, int64_t q, __m512i out[4]) {
  const __m512i bias = _mm512_set1_epi8(static_cast<char>(0x80));
  if constexpr (kPacked) {
    const uint8_t* p = s.packed + ((c / kSub) * s.nq + q) * 256;
    for (int j = 0; j < 4; ++j) out[j] = _mm512_load_si512(p + 64 * j);
  } else {
    const int8_t* p = s.w + 4 * q * s.ldw + c;
    __m512i r[4];
    if (!kTail && cols == ~__mmask64{0}) {  // whole block: plain loads
      for (int i = 0; i < 4; ++i) r[i] = _mm512_loadu_si512(p + i * s.ldw);
    } else {
      for (int i = 0; i < 4; ++i)
        r[i] = (!kTail || 4 * q + i < s.k) ? _mm512_maskz_loadu_epi8(cols, p + i * s.ldw) : _mm512_setzero_si512();
    }
    interleave4(r[0], r[1], r[2], r[3], out);
    for (int j = 0; j < 4; ++j) out[j] = _mm512_xor_si512(out[j], bias);
  }
}

// Accumulates quads [q0, q1) (all whole, or the last one partial when kTail) of MR rows into
// NB sub-blocks starting at column c.
template <int MR, int NB, bool kPacked, bool kTail>
KCS_INLINE void tile_quads(const WSrc& s, const int8_t* a, int64_t lda, int64_t c, const __mmask64* cols, int64_t q0,
                           int64_t q1, __m512i (&acc)[MR][NB * 4]) {
  for (int64_t q = q0; q < q1; ++q) {
    __m512i wv[NB][4];
#pragma GCC unroll 4
    for (int b = 0; b < NB; ++b) load_w<kPacked, kTail>(s, c + b * kSub, cols[b], q, wv[b]);
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r) {
      int32_t av;
      if constexpr (kTail) {
        av = 0;  // bytes past K stay zero
        std::memcpy(&av, a + r * lda + 4 * q, static_cast<size_t>(s.k - 4 * q));
      } else {
        av = load_i32(a + r * lda + 4 * q);
      }
      const __m512i bv = _mm512_set1_epi32(av);
#pragma GCC unroll 4
      for (int b = 0; b < NB; ++b)
#pragma GCC unroll 4
        for (int j = 0; j < 4; ++j) acc[r][b * 4 + j] = _mm512_dpbusd_epi32(acc[r][b * 4 + j], wv[b][j], bv);
    }
  }
}

// Stores one row's 64 columns [c, c + 64) (acc in column order) where `valid` has a bit.
inline void epilogue_row(const GemmI8Args& g, int64_t row, int64_t c, uint64_t valid, __m512i v[4]) {
  const __m512 sr = _mm512_set1_ps(g.s_row[row]);
  for (int j = 0; j < 4; ++j) {
    const __mmask16 m = static_cast<__mmask16>(valid >> (16 * j));
    if (!m) continue;
    const int64_t col = c + 16 * j;
    if (g.acc) _mm512_mask_storeu_epi32(g.acc + row * g.ldacc + col, m, v[j]);
    if (!g.y) continue;
    const __m512 f = _mm512_cvt_roundepi32_ps(v[j], _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    const __m512 y = _mm512_mul_ps(_mm512_mul_ps(f, sr), _mm512_maskz_loadu_ps(m, g.s_col + col));
    if (g.y_dtype == DType::bf16)
      _mm256_mask_storeu_epi16(static_cast<uint16_t*>(g.y) + row * g.ldy + col, m, narrow_bf16(y));
    else
      _mm512_mask_storeu_ps(static_cast<float*>(g.y) + row * g.ldy + col, m, y);
  }
}

// Everything one call shares.
struct Call {
  const GemmI8Args* g;
  WSrc src;
  int64_t n0, n1;   // the call's columns
  int64_t nq_full;  // whole K quads
  int64_t nq;       // all K quads (the last may be partial)
};

// One register tile's work: MR rows from `row`, NB sub-blocks from column c0, K quads [q0, q1)
// (q1 may include the partial quad). Partial sums between K passes live at sp (row stride sld).
struct Job {
  int64_t row;
  const int32_t* corr;  // −128·rowsum of the tile's rows
  int32_t* sp;
  int64_t sld;
  int64_t c0;
  int64_t q0, q1;
  bool first, last;
};

// One packed register tile (see Job).
template <int MR, int NB>
__attribute__((noinline)) void tile(const Call& cl, const Job& jb) {
  const GemmI8Args& g = *cl.g;
  __m512i acc[MR][NB * 4];
  __mmask64 cols[NB];
  uint64_t valid[NB];
#pragma GCC unroll 4
  for (int b = 0; b < NB; ++b) {
    const int64_t c = jb.c0 + b * kSub;
    valid[b] = bit_range(max64(cl.n0, c) - c, min64(cl.n1, c + kSub) - c);
    cols[b] = static_cast<__mmask64>(valid[b]);
  }
#pragma GCC unroll 8
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 16
    for (int i = 0; i < NB * 4; ++i)
      acc[r][i] = jb.first ? _mm512_set1_epi32(jb.corr[r]) : _mm512_load_si512(jb.sp + r * jb.sld + 16 * i);
  const int8_t* a = g.a + jb.row * g.lda;
  tile_quads<MR, NB, true, false>(cl.src, a, g.lda, jb.c0, cols, jb.q0, min64(jb.q1, cl.nq_full), acc);
  if (jb.q1 > cl.nq_full) tile_quads<MR, NB, true, true>(cl.src, a, g.lda, jb.c0, cols, cl.nq_full, jb.q1, acc);
  if (!jb.last) {
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r)
#pragma GCC unroll 16
      for (int i = 0; i < NB * 4; ++i) _mm512_store_si512(jb.sp + r * jb.sld + 16 * i, acc[r][i]);
    return;
  }
  // A copy for the epilogue, whose pointer use would otherwise keep `acc` in memory through the
  // K loop (GCC then stores every accumulator on every iteration).
  __m512i out[MR][NB * 4];
#pragma GCC unroll 8
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 16
    for (int i = 0; i < NB * 4; ++i) out[r][i] = acc[r][i];
#pragma GCC unroll 8
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 4
    for (int b = 0; b < NB; ++b) {
      epilogue_row(g, jb.row + r, jb.c0 + b * kSub, valid[b], &out[r][b * 4]);
    }
}

// MR rows over nsub sub-blocks from jb.c0: as wide as the tile allows, then one at a time.
template <int MR>
void tile_rows(const Call& cl, Job jb, int64_t nsub) {
  // One row reads one 64-column panel per tile, a single sequential stream (M = 1 is bandwidth
  // bound; 4 panels at once measured slower); 2 rows take two panels, 3..6 rows one (up to 24
  // accumulators).
  constexpr int NB = MR == 2 ? 2 : 1;
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

void tiles(const Call& cl, const Job& jb, int64_t rows, int64_t nsub) {
  switch (rows) {
    case 1:
      tile_rows<1>(cl, jb, nsub);
      break;
    case 2:
      tile_rows<2>(cl, jb, nsub);
      break;
    case 3:
      tile_rows<3>(cl, jb, nsub);
      break;
    case 4:
      tile_rows<4>(cl, jb, nsub);
      break;
    case 5:
      tile_rows<5>(cl, jb, nsub);
      break;
    default:
      tile_rows<6>(cl, jb, nsub);
      break;
  }
}

void row_corrections(const GemmI8Args& g, int64_t r0, int64_t r1, int32_t* corr) {
  for (int64_t r = r0; r < r1; ++r)
    corr[r - r0] = static_cast<int32_t>(0u - 128u * static_cast<uint32_t>(row_sum(g.a + r * g.lda, g.k)));
}

// Packed weights: column chunks of 256 (from the panel holding n0) outermost, so a chunk's
// panels (K x 256 bytes) stay in L2 while row chunks of 48 and K passes run over them. The
// corrections are recomputed per column chunk (K/64 vpdpbusd per row against the tiles' K/4 x 16).
void run_packed(const Call& cl, int64_t m0, int64_t m1, int64_t k_block, int32_t* scratch, int32_t* corr) {
  const int64_t qb = k_block <= 0 ? cl.nq : max64(1, (k_block + 3) / 4);
  for (int64_t c = cl.n0 / kSub * kSub; c < cl.n1; c += kChunkCols) {
    const int64_t nsub = (min64(cl.n1, c + kChunkCols) - c + kSub - 1) / kSub;
    for (int64_t mc = m0; mc < m1; mc += kChunkRows) {
      const int64_t me = min64(m1, mc + kChunkRows);
      row_corrections(*cl.g, mc, me, corr);
      for (int64_t q0 = 0; q0 < cl.nq; q0 += qb) {
        for (int64_t r = mc; r < me; r += kMaxRows) {
          Job jb;
          jb.row = r;
          jb.corr = corr + (r - mc);
          jb.sp = scratch + (r - mc) * kChunkCols;
          jb.sld = kChunkCols;
          jb.c0 = c;
          jb.q0 = q0;
          jb.q1 = min64(cl.nq, q0 + qb);
          jb.first = q0 == 0;
          jb.last = jb.q1 == cl.nq;
          tiles(cl, jb, min64(kMaxRows, me - r), nsub);
        }
      }
    }
  }
}

// Row-major weights, rows [row, row + MR) x columns [sc, se), K quads [q0, q1) of one pass.
// Each weight row must be read in long contiguous runs (256 bytes per row at a stride of N bytes
// stream at a fraction of DRAM bandwidth), so a pass sweeps its 4·(q1 − q0) rows across the
// whole column range, 64 columns at a time, with the partial sums waiting in scratch
// (MR rows, row stride kDirectCols) between passes.
template <int MR, bool kTail>
KCS_INLINE void direct_quads(const WSrc& s, const int8_t* a, int64_t lda, int64_t c, __mmask64 cols, int64_t q0,
                             int64_t q1, __m512i (&acc)[MR][4]) {
  for (int64_t q = q0; q < q1; ++q) {
    __m512i wv[4];
    if (4 * (q + kDirectPrefetchQuads) + 3 < s.k)
      for (int i = 0; i < 4; ++i)
        _mm_prefetch(reinterpret_cast<const char*>(s.w + (4 * (q + kDirectPrefetchQuads) + i) * s.ldw + c),
                     _MM_HINT_T1);
    load_w<false, kTail>(s, c, cols, q, wv);
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r) {
      int32_t av;
      if constexpr (kTail) {
        av = 0;  // bytes past K stay zero
        std::memcpy(&av, a + r * lda + 4 * q, static_cast<size_t>(s.k - 4 * q));
      } else {
        av = load_i32(a + r * lda + 4 * q);
      }
      const __m512i bv = _mm512_set1_epi32(av);
#pragma GCC unroll 4
      for (int j = 0; j < 4; ++j) acc[r][j] = _mm512_dpbusd_epi32(acc[r][j], wv[j], bv);
    }
  }
}

template <int MR>
__attribute__((noinline)) void direct_pass(const Call& cl, int64_t row, const int32_t* corr, int32_t* scratch,
                                           int64_t sc, int64_t se, int64_t q0, int64_t q1, bool first, bool last) {
  const GemmI8Args& g = *cl.g;
  const int8_t* a = g.a + row * g.lda;
  const int64_t qf = min64(q1, cl.nq_full);
  for (int64_t c = sc; c < se; c += kSub) {
    const uint64_t valid = bit_range(0, min64(se, c + kSub) - c);
    const __mmask64 cols = static_cast<__mmask64>(valid);
    int32_t* sp = scratch + (c - sc);
    __m512i acc[MR][4];
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r)
#pragma GCC unroll 4
      for (int j = 0; j < 4; ++j)
        acc[r][j] = first ? _mm512_set1_epi32(corr[r]) : _mm512_load_si512(sp + r * kDirectCols + 16 * j);
    direct_quads<MR, false>(cl.src, a, g.lda, c, cols, q0, qf, acc);
    if (q1 > cl.nq_full) direct_quads<MR, true>(cl.src, a, g.lda, c, cols, cl.nq_full, q1, acc);
    if (!last) {
#pragma GCC unroll 8
      for (int r = 0; r < MR; ++r)
#pragma GCC unroll 4
        for (int j = 0; j < 4; ++j) _mm512_store_si512(sp + r * kDirectCols + 16 * j, acc[r][j]);
      continue;
    }
    __m512i out[MR][4];  // see tile(): keeps `acc` out of memory in the K loop
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r)
#pragma GCC unroll 4
      for (int j = 0; j < 4; ++j) out[r][j] = acc[r][j];
    for (int r = 0; r < MR; ++r) {
      unpermute4(out[r]);
      epilogue_row(g, row + r, c, valid, out[r]);
    }
  }
}

void run_direct(const Call& cl, int64_t m0, int64_t m1, int64_t k_block, int32_t* scratch, int32_t* corr) {
  const int64_t qb = k_block <= 0 ? kDirectQuads : max64(1, (k_block + 3) / 4);
  for (int64_t mc = m0; mc < m1; mc += kMaxRows) {
    const int64_t rows = min64(kMaxRows, m1 - mc);
    row_corrections(*cl.g, mc, mc + rows, corr);
    for (int64_t sc = cl.n0; sc < cl.n1; sc += kDirectCols) {
      const int64_t se = min64(cl.n1, sc + kDirectCols);
      for (int64_t q0 = 0; q0 < cl.nq; q0 += qb) {
        const int64_t q1 = min64(cl.nq, q0 + qb);
        const bool first = q0 == 0, last = q1 == cl.nq;
        switch (rows) {
          case 1:
            direct_pass<1>(cl, mc, corr, scratch, sc, se, q0, q1, first, last);
            break;
          case 2:
            direct_pass<2>(cl, mc, corr, scratch, sc, se, q0, q1, first, last);
            break;
          case 3:
            direct_pass<3>(cl, mc, corr, scratch, sc, se, q0, q1, first, last);
            break;
          case 4:
            direct_pass<4>(cl, mc, corr, scratch, sc, se, q0, q1, first, last);
            break;
          case 5:
            direct_pass<5>(cl, mc, corr, scratch, sc, se, q0, q1, first, last);
            break;
          default:
            direct_pass<6>(cl, mc, corr, scratch, sc, se, q0, q1, first, last);
            break;
        }
      }
    }
  }
}

#undef KCS_INLINE

}  // namespace

void gemm_i8_avx512(const GemmI8Args& g, const PackedI8View* packed, const GemmI8Blocking& b, int64_t m0, int64_t m1,
                    int64_t n0, int64_t n1) {
  if (m0 >= m1 || n0 >= n1 || (!g.acc && !g.y)) return;
  // Partial sums between K passes: 48 x 256 (packed) or 6 x 4096 (direct) int32, 96 KiB.
  static_assert(kChunkRows * kChunkCols <= kMaxRows * kDirectCols, "one scratch serves both paths");
  alignas(64) int32_t scratch[kMaxRows * kDirectCols];
  alignas(64) int32_t corr[kChunkRows];
  Call cl;
  cl.g = &g;
  cl.src.w = g.w;
  cl.src.ldw = g.ldw;
  cl.src.packed = packed ? packed->data : nullptr;
  cl.src.nq = (g.k + 3) / 4;
  cl.src.k = g.k;
  cl.n0 = n0;
  cl.n1 = n1;
  cl.nq_full = g.k / 4;
  cl.nq = (g.k + 3) / 4;
  if (packed)
    run_packed(cl, m0, m1, b.k_block, scratch, corr);
  else
    run_direct(cl, m0, m1, b.k_block, scratch, corr);
}

void pack_i8_panels_avx512(const int8_t* w, int64_t ldw, int64_t k, int64_t n, int64_t p0, int64_t p1, uint8_t* out) {
  const int64_t nq = (k + 3) / 4;
  const __m512i bias = _mm512_set1_epi8(static_cast<char>(0x80));
  // K quads outer, panels inner: every weight row is read in runs of (p1 - p0) x 64 bytes (short
  // runs per row at a stride of N bytes read DRAM slowly; see run_direct).
  for (int64_t q = 0; q < nq; ++q) {
    for (int64_t p = p0; p < p1; ++p) {
      const int64_t c = p * kSub;
      const __mmask64 cols = static_cast<__mmask64>(bit_range(0, min64(kSub, n - c)));
      __m512i r[4], v[4];
      for (int i = 0; i < 4; ++i)
        r[i] = 4 * q + i < k ? _mm512_maskz_loadu_epi8(cols, w + (4 * q + i) * ldw + c) : _mm512_setzero_si512();
      interleave4(r[0], r[1], r[2], r[3], v);
      // The engine's integer accumulators are addressed in column order; the 4x4 lane transpose
      // that undoes interleave4 works on any 32-bit elements, here the 4-byte k groups.
      unpermute4(v);
      uint8_t* o = out + (p * nq + q) * 256;
      // Non-temporal: no read-for-ownership of the destination (a third of the traffic).
      for (int j = 0; j < 4; ++j)
        _mm512_stream_si512(reinterpret_cast<__m512i*>(o + 64 * j), _mm512_xor_si512(v[j], bias));
    }
  }
  _mm_sfence();  // order the weakly ordered stores before anyone reads the panels
}

}  // namespace kcs::opt
