// INT8 GEMM + dequant (spec §1.2), AVX2 only (no AVX-VNNI, no FMA). Bit-identical to
// gemm_i8_reference.
//
// Integer core: for each K pair (k, k+1) the weight rows are interleaved bytewise
// ({w[k, c], w[k+1, c]} per column), sign-extended to int16 (vpmovsxbw) and multiplied with the
// broadcast pair (a[k], a[k+1]) by vpmaddwd, which forms a·w + a'·w' exactly (|.| <= 2^15) in
// int32; vpaddd accumulates. The saturating vpmaddubsw is never used.
//
// Register tiles (rows x columns): 1 x 64, 2 x 32, 3..4 x 16, i.e. 6 to 8 ymm accumulators of 8
// int32 columns each. Weights come either
//   direct: from row-major W, two 16-byte row loads per 16 columns, vpunpck{l,h}bw (columns stay
//           in order; the last, partial 16-column block of a call goes through a zero-padded
//           copy so nothing outside the call's columns is read), or
//   packed: from pack_i8_panels_avx2's layout (the interleaved bytes, 32 per pair and panel).
// Blocking inside one call: packed, column chunks of 64, row chunks of 48, K passes of k_block
// (default all K); direct, groups of <= 4 rows, column super-chunks of 4096 and K passes of 4
// pairs swept across them, so every weight row is read in long runs (as in the AVX-512 file).
//
// Epilogue: cvtdq2ps (nearest even under the default MXCSR, which kcs never changes; the
// reference's int -> float conversion runs under the same MXCSR), two vmulps (row scale first,
// no FMA), bf16 by integer rounding with subnormals kept and NaN -> sign|0x7FC0.
//
// Compiled with -mavx2 -mfma -mf16c; calls no inline helper of the kcs headers (see
// optimized/avx2/q8.cc). GCC 12's intrinsic headers trip -Wuninitialized (GCC PR 105593).
#include <cstdint>
#include <cstring>

#include "optimized/avx2/simd.h"
#include "optimized/gemm_i8.h"

namespace kcs::opt {

namespace {

// The tile helpers must inline into one loop: a call would force the accumulators to memory.
#define KCS_INLINE inline __attribute__((always_inline))

constexpr int64_t kSub = 16;        // columns per sub-block (2 ymm of int32) = packed panel width
constexpr int64_t kChunkCols = 64;  // columns per chunk (4 sub-blocks)
constexpr int64_t kChunkRows = 48;  // rows per chunk (a multiple of every tile height)
constexpr int kMaxRows = 4;
// Direct path: columns whose partial sums wait in scratch between K passes (a weight row is read
// in runs of up to this many bytes), and the default K pairs per pass (8 weight rows in flight).
constexpr int64_t kDirectCols = 4096;
constexpr int64_t kDirectPairs = 4;


// The pair (a[k], a[k+1]) sign-extended to int16 in every 32-bit lane.
KCS_INLINE __m256i a_pair(const int8_t* p, bool second) {
  int16_t v = 0;
  std::memcpy(&v, p, second ? 2 : 1);
  return _mm256_cvtepi8_epi16(_mm_set1_epi16(v));
}

struct WSrc {
  const int8_t* w = nullptr;  // direct: row-major [k, n]
  int64_t ldw = 0;
  const uint8_t* packed = nullptr;  // packed layout (avx2)
  int64_t np = 0;                   // K pairs per panel (ceil(k / 2))
  int64_t k = 0;
};

// Weights of columns [c, c + 16) for K pair p as 2 ymm of int16 pairs (columns 0-7, 8-15).
// width < 16: only the first `width` columns exist (direct tail block; copied, zero padded).
// kTail: row 2p + 1 is past K and reads as zero.
template <bool kPacked, bool kTail>
KCS_INLINE void load_w(const WSrc& s, int64_t c, int64_t width, int64_t p, __m256i out[2]) {
  if constexpr (kPacked) {
    const uint8_t* q = s.packed + ((c / kSub) * s.np + p) * 32;
    out[0] = _mm256_cvtepi8_epi16(_mm_load_si128(reinterpret_cast<const __m128i*>(q)));
    out[1] = _mm256_cvtepi8_epi16(_mm_load_si128(reinterpret_cast<const __m128i*>(q + 16)));
  } else {
    const int8_t* q = s.w + 2 * p * s.ldw + c;
    __m128i r0, r1 = _mm_setzero_si128();
    if (width >= kSub) {
      r0 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(q));
      if (!kTail) r1 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(q + s.ldw));
    } else {
      alignas(16) int8_t t0[16] = {}, t1[16] = {};
      std::memcpy(t0, q, static_cast<size_t>(width));
      if (!kTail) std::memcpy(t1, q + s.ldw, static_cast<size_t>(width));
      r0 = _mm_load_si128(reinterpret_cast<const __m128i*>(t0));
      r1 = _mm_load_si128(reinterpret_cast<const __m128i*>(t1));
    }
    out[0] = _mm256_cvtepi8_epi16(_mm_unpacklo_epi8(r0, r1));
    out[1] = _mm256_cvtepi8_epi16(_mm_unpackhi_epi8(r0, r1));
  }
}

// Accumulates K pairs [p0, p1) (whole, or the last one half when kTail) of MR rows into NB
// sub-blocks from column c; widths[b] = columns that exist in sub-block b (direct path).
template <int MR, int NB, bool kPacked, bool kTail>
KCS_INLINE void tile_pairs(const WSrc& s, const int8_t* a, int64_t lda, int64_t c, const int64_t* widths, int64_t p0,
                           int64_t p1, __m256i (&acc)[MR][NB * 2]) {
  for (int64_t p = p0; p < p1; ++p) {
    __m256i wv[NB][2];
#pragma GCC unroll 4
    for (int b = 0; b < NB; ++b) load_w<kPacked, kTail>(s, c + b * kSub, widths[b], p, wv[b]);
#pragma GCC unroll 4
    for (int r = 0; r < MR; ++r) {
      const __m256i av = a_pair(a + r * lda + 2 * p, !kTail);
#pragma GCC unroll 4
      for (int b = 0; b < NB; ++b)
#pragma GCC unroll 2
        for (int j = 0; j < 2; ++j)
          acc[r][b * 2 + j] = _mm256_add_epi32(acc[r][b * 2 + j], _mm256_madd_epi16(wv[b][j], av));
    }
  }
}

// Stores one row's 16 columns [c, c + 16) for the column range [lo, hi) (relative to c).
inline void epilogue_row(const GemmI8Args& g, int64_t row, int64_t c, int64_t lo, int64_t hi, const __m256i v[2]) {
  const __m256 sr = _mm256_set1_ps(g.s_row[row]);
  const bool full = lo == 0 && hi == kSub;
  alignas(32) int32_t acc_t[16];
  alignas(32) float s_t[16] = {};
  alignas(32) float y_t[16];
  alignas(16) uint16_t b_t[16];
  if (g.acc) {
    if (full) {
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(g.acc + row * g.ldacc + c), v[0]);
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(g.acc + row * g.ldacc + c + 8), v[1]);
    } else {
      _mm256_store_si256(reinterpret_cast<__m256i*>(acc_t), v[0]);
      _mm256_store_si256(reinterpret_cast<__m256i*>(acc_t + 8), v[1]);
      std::memcpy(g.acc + row * g.ldacc + c + lo, acc_t + lo, static_cast<size_t>(hi - lo) * sizeof(int32_t));
    }
  }
  if (!g.y) return;
  const float* sc = g.s_col + c;
  if (!full) {
    std::memcpy(s_t + lo, g.s_col + c + lo, static_cast<size_t>(hi - lo) * sizeof(float));
    sc = s_t;
  }
  const __m256 y0 = _mm256_mul_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(v[0]), sr), _mm256_loadu_ps(sc));
  const __m256 y1 = _mm256_mul_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(v[1]), sr), _mm256_loadu_ps(sc + 8));
  if (g.y_dtype == DType::bf16) {
    uint16_t* yr = static_cast<uint16_t*>(g.y) + row * g.ldy + c;
    if (full) {
      _mm_storeu_si128(reinterpret_cast<__m128i*>(yr), narrow_bf16(y0));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(yr + 8), narrow_bf16(y1));
    } else {
      _mm_store_si128(reinterpret_cast<__m128i*>(b_t), narrow_bf16(y0));
      _mm_store_si128(reinterpret_cast<__m128i*>(b_t + 8), narrow_bf16(y1));
      std::memcpy(yr + lo, b_t + lo, static_cast<size_t>(hi - lo) * sizeof(uint16_t));
    }
  } else {
    float* yr = static_cast<float*>(g.y) + row * g.ldy + c;
    if (full) {
      _mm256_storeu_ps(yr, y0);
      _mm256_storeu_ps(yr + 8, y1);
    } else {
      _mm256_store_ps(y_t, y0);
      _mm256_store_ps(y_t + 8, y1);
      std::memcpy(yr + lo, y_t + lo, static_cast<size_t>(hi - lo) * sizeof(float));
    }
  }
}

struct Call {
  const GemmI8Args* g;
  WSrc src;
  int64_t n0, n1;
  int64_t np_full;   // whole K pairs
  int32_t* scratch;  // [kChunkRows][kChunkCols]
};

template <int MR, int NB, bool kPacked>
__attribute__((noinline)) void tile(const Call& cl, int64_t row, int64_t cr, int64_t chunk_c, int64_t sb, int64_t p0,
                                    int64_t p1, bool first, bool last) {
  const GemmI8Args& g = *cl.g;
  __m256i acc[MR][NB * 2];
  int64_t widths[NB], lo[NB], hi[NB];
#pragma GCC unroll 4
  for (int b = 0; b < NB; ++b) {
    const int64_t c = chunk_c + (sb + b) * kSub;
    lo[b] = max64(cl.n0, c) - c;
    hi[b] = min64(cl.n1, c + kSub) - c;
    widths[b] = hi[b];  // direct blocks start at or after n0, so lo = 0 there
  }
#pragma GCC unroll 8
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 16
    for (int i = 0; i < NB * 2; ++i)
      acc[r][i] = first ? _mm256_setzero_si256()
                        : _mm256_load_si256(
                              reinterpret_cast<const __m256i*>(cl.scratch + (cr + r) * kChunkCols + sb * kSub + 8 * i));
  const int8_t* a = g.a + row * g.lda;
  const int64_t c0 = chunk_c + sb * kSub;
  tile_pairs<MR, NB, kPacked, false>(cl.src, a, g.lda, c0, widths, p0, min64(p1, cl.np_full), acc);
  if (p1 > cl.np_full) tile_pairs<MR, NB, kPacked, true>(cl.src, a, g.lda, c0, widths, cl.np_full, p1, acc);
  if (!last) {
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r)
#pragma GCC unroll 16
      for (int i = 0; i < NB * 2; ++i)
        _mm256_store_si256(reinterpret_cast<__m256i*>(cl.scratch + (cr + r) * kChunkCols + sb * kSub + 8 * i),
                           acc[r][i]);
    return;
  }
#pragma GCC unroll 8
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 4
    for (int b = 0; b < NB; ++b) epilogue_row(g, row + r, c0 + b * kSub, lo[b], hi[b], &acc[r][b * 2]);
}

template <int MR, bool kPacked>
void tile_rows(const Call& cl, int64_t row, int64_t cr, int64_t chunk_c, int64_t nsub, int64_t p0, int64_t p1,
               bool first, bool last) {
  constexpr int NB = MR == 1 ? 4 : MR == 2 ? 2 : 1;
  int64_t sb = 0;
  for (; sb + NB <= nsub; sb += NB) tile<MR, NB, kPacked>(cl, row, cr, chunk_c, sb, p0, p1, first, last);
  for (; sb < nsub; ++sb) tile<MR, 1, kPacked>(cl, row, cr, chunk_c, sb, p0, p1, first, last);
}

// Packed weights: column chunks of 64 outermost, row chunks of 48, K passes of k_block
// (default all K), register tiles.
void run_packed(const Call& cl, int64_t m0, int64_t m1, int64_t k_block) {
  const GemmI8Args& g = *cl.g;
  const int64_t np = (g.k + 1) / 2;
  const int64_t pb = k_block <= 0 ? np : max64(1, (k_block + 1) / 2);
  for (int64_t c = cl.n0 / kSub * kSub; c < cl.n1; c += kChunkCols) {
    const int64_t nsub = (min64(cl.n1, c + kChunkCols) - c + kSub - 1) / kSub;
    for (int64_t mc = m0; mc < m1; mc += kChunkRows) {
      const int64_t me = min64(m1, mc + kChunkRows);
      for (int64_t p0 = 0; p0 < np; p0 += pb) {
        const int64_t p1 = min64(np, p0 + pb);
        const bool first = p0 == 0, last = p1 == np;
        for (int64_t r = mc; r < me;) {
          const int64_t rows = min64(kMaxRows, me - r);
          const int64_t cr = r - mc;
          switch (rows) {
            case 1:
              tile_rows<1, true>(cl, r, cr, c, nsub, p0, p1, first, last);
              break;
            case 2:
              tile_rows<2, true>(cl, r, cr, c, nsub, p0, p1, first, last);
              break;
            case 3:
              tile_rows<3, true>(cl, r, cr, c, nsub, p0, p1, first, last);
              break;
            default:
              tile_rows<4, true>(cl, r, cr, c, nsub, p0, p1, first, last);
              break;
          }
          r += rows;
        }
      }
    }
  }
}

// Row-major weights, rows [row, row + MR) x columns [sc, se), K pairs [p0, p1) of one pass: the
// pass sweeps its 2·(p1 − p0) weight rows across the whole column range (long row runs, see
// optimized/avx512/gemm_i8.cc), 16 columns at a time, partial sums waiting in scratch.
template <int MR>
__attribute__((noinline)) void direct_pass(const Call& cl, int64_t row, int32_t* scratch, int64_t sc, int64_t se,
                                           int64_t p0, int64_t p1, bool first, bool last) {
  const GemmI8Args& g = *cl.g;
  const int8_t* a = g.a + row * g.lda;
  const int64_t pf = min64(p1, cl.np_full);
  for (int64_t c = sc; c < se; c += kSub) {
    const int64_t width = min64(kSub, se - c);
    int32_t* sp = scratch + (c - sc);
    __m256i acc[MR][2];
#pragma GCC unroll 4
    for (int r = 0; r < MR; ++r)
#pragma GCC unroll 2
      for (int j = 0; j < 2; ++j)
        acc[r][j] = first ? _mm256_setzero_si256()
                          : _mm256_load_si256(reinterpret_cast<const __m256i*>(sp + r * kDirectCols + 8 * j));
    const int64_t widths[1] = {width};
    tile_pairs<MR, 1, false, false>(cl.src, a, g.lda, c, widths, p0, pf, acc);
    if (p1 > cl.np_full) tile_pairs<MR, 1, false, true>(cl.src, a, g.lda, c, widths, cl.np_full, p1, acc);
    if (!last) {
#pragma GCC unroll 4
      for (int r = 0; r < MR; ++r)
#pragma GCC unroll 2
        for (int j = 0; j < 2; ++j)
          _mm256_store_si256(reinterpret_cast<__m256i*>(sp + r * kDirectCols + 8 * j), acc[r][j]);
      continue;
    }
    __m256i out[MR][2];  // see tile(): keeps `acc` out of memory in the K loop
#pragma GCC unroll 4
    for (int r = 0; r < MR; ++r)
#pragma GCC unroll 2
      for (int j = 0; j < 2; ++j) out[r][j] = acc[r][j];
    for (int r = 0; r < MR; ++r) epilogue_row(g, row + r, c, 0, width, out[r]);
  }
}

void run_direct(const Call& cl, int64_t m0, int64_t m1, int64_t k_block, int32_t* scratch) {
  const int64_t np = (cl.g->k + 1) / 2;
  const int64_t pb = k_block <= 0 ? kDirectPairs : max64(1, (k_block + 1) / 2);
  for (int64_t mc = m0; mc < m1; mc += kMaxRows) {
    const int64_t rows = min64(kMaxRows, m1 - mc);
    for (int64_t sc = cl.n0; sc < cl.n1; sc += kDirectCols) {
      const int64_t se = min64(cl.n1, sc + kDirectCols);
      for (int64_t p0 = 0; p0 < np; p0 += pb) {
        const int64_t p1 = min64(np, p0 + pb);
        const bool first = p0 == 0, last = p1 == np;
        switch (rows) {
          case 1:
            direct_pass<1>(cl, mc, scratch, sc, se, p0, p1, first, last);
            break;
          case 2:
            direct_pass<2>(cl, mc, scratch, sc, se, p0, p1, first, last);
            break;
          case 3:
            direct_pass<3>(cl, mc, scratch, sc, se, p0, p1, first, last);
            break;
          default:
            direct_pass<4>(cl, mc, scratch, sc, se, p0, p1, first, last);
            break;
        }
      }
    }
  }
}

#undef KCS_INLINE

}  // namespace

void gemm_i8_avx2(const GemmI8Args& g, const PackedI8View* packed, const GemmI8Blocking& b, int64_t m0, int64_t m1,
                  int64_t n0, int64_t n1) {
  if (m0 >= m1 || n0 >= n1 || (!g.acc && !g.y)) return;
  // Partial sums between K passes: 48 x 64 (packed) or 4 x 4096 (direct) int32, 64 KiB.
  static_assert(kChunkRows * kChunkCols <= kMaxRows * kDirectCols, "one scratch serves both paths");
  alignas(32) int32_t scratch[kMaxRows * kDirectCols];
  Call cl;
  cl.g = &g;
  cl.src.w = g.w;
  cl.src.ldw = g.ldw;
  cl.src.packed = packed ? packed->data : nullptr;
  cl.src.np = (g.k + 1) / 2;
  cl.src.k = g.k;
  cl.n0 = n0;
  cl.n1 = n1;
  cl.np_full = g.k / 2;
  cl.scratch = scratch;
  if (packed)
    run_packed(cl, m0, m1, b.k_block);
  else
    run_direct(cl, m0, m1, b.k_block, scratch);
}

void pack_i8_panels_avx2(const int8_t* w, int64_t ldw, int64_t k, int64_t n, int64_t p0, int64_t p1, uint8_t* out) {
  const int64_t np = (k + 1) / 2;
  // K pairs outer, panels inner: rows are read in runs of (p1 - p0) x 16 bytes.
  for (int64_t q = 0; q < np; ++q) {
    for (int64_t p = p0; p < p1; ++p) {
      const int64_t c = p * kSub;
      const int64_t width = min64(kSub, n - c);
      alignas(16) int8_t r0[16] = {}, r1[16] = {};
      std::memcpy(r0, w + 2 * q * ldw + c, static_cast<size_t>(width));
      if (2 * q + 1 < k) std::memcpy(r1, w + (2 * q + 1) * ldw + c, static_cast<size_t>(width));
      const __m128i v0 = _mm_load_si128(reinterpret_cast<const __m128i*>(r0));
      const __m128i v1 = _mm_load_si128(reinterpret_cast<const __m128i*>(r1));
      uint8_t* o = out + (p * np + q) * 32;
      // Non-temporal: no read-for-ownership of the destination.
      _mm_stream_si128(reinterpret_cast<__m128i*>(o), _mm_unpacklo_epi8(v0, v1));
      _mm_stream_si128(reinterpret_cast<__m128i*>(o + 16), _mm_unpackhi_epi8(v0, v1));
    }
  }
  _mm_sfence();  // order the weakly ordered stores before anyone reads the panels
}

}  // namespace kcs::opt
