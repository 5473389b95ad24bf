// INT8 GEMM + dequant (spec §1.2), AVX2 only (no AVX-VNNI, no FMA): the integer core and the
// packing; the engine is optimized/gemm_i8-inl.h, the scheme (vpmaddwd on K pairs sign-extended to
// int16, accumulators from zero) and the packed layout optimized/gemm_i8.h.
// Register tiles (rows x columns): 1 x 64, 2 x 32, 3..4 x 16, i.e. 6 to 8 ymm accumulators of 8
// int32 columns each. Packed: column chunks of 64, row chunks of 48; direct (pair_rows, columns in
// order): groups of <= 4 rows, K passes of 4 pairs.
// The dequant's cvtdq2ps rounds to nearest even under the default MXCSR, which kcs never changes
// (the reference's int -> float conversion runs under the same MXCSR).
// Like every ISA file, this one calls no inline helper of the kcs headers (optimized/simd_scalar.h).
#include <cstdint>
#include <cstring>

#include "optimized/avx2/simd.h"
#include "optimized/gemm_i8.h"

namespace kcs::opt {

namespace {

constexpr int kKs = 2;              // K per step (a pair)
constexpr int64_t kSub = 16;        // columns per sub-block (2 ymm of int32) = packed panel width
constexpr int64_t kChunkCols = 64;  // columns per chunk (4 sub-blocks)
constexpr int64_t kChunkRows = 48;  // rows per chunk (a multiple of every tile height)
constexpr int kMaxRows = 4;
// Direct path: columns whose partial sums wait in scratch between K passes (a weight row is read
// in runs of up to this many bytes), and the default K pairs per pass (8 weight rows in flight).
constexpr int64_t kDirectCols = 4096;
constexpr int64_t kDirectSteps = 4;
constexpr int64_t kPrefetchSteps = 0;  // none
constexpr int nb_for(int mr) { return mr == 1 ? 4 : mr == 2 ? 2 : 1; }

// The columns [0, width) of a sub-block exist (direct blocks start at or after n0, so lo = 0
// there; packed loads read whole panels).
using Cols = int64_t;
inline Cols cols_of(int64_t, int64_t hi) { return hi; }

// Weight rows 0 and 1 (kTail: row 0 only; row 1 zero) of columns [0, width) of q, others zero,
// interleaved bytewise: {w[0, c], w[1, c]} for columns 0-7 (lo), 8-15 (hi). A partial block goes
// through a zero-padded copy, so nothing outside its columns is read.
template <bool kTail>
inline __attribute__((always_inline)) void pair_rows(const int8_t* q, int64_t ldw, int64_t width, __m128i& lo,
                                                     __m128i& hi) {
  __m128i r0, r1 = _mm_setzero_si128();
  if (width >= kSub) {
    r0 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(q));
    if (!kTail) r1 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(q + ldw));
  } else {
    alignas(16) int8_t t0[16] = {}, t1[16] = {};
    std::memcpy(t0, q, static_cast<size_t>(width));
    if (!kTail) std::memcpy(t1, q + ldw, static_cast<size_t>(width));
    r0 = _mm_load_si128(reinterpret_cast<const __m128i*>(t0));
    r1 = _mm_load_si128(reinterpret_cast<const __m128i*>(t1));
  }
  lo = _mm_unpacklo_epi8(r0, r1);
  hi = _mm_unpackhi_epi8(r0, r1);
}

// Weights of columns [c, c + 16) for K pair p as 2 ymm of int16 pairs (columns 0-7, 8-15); only
// the first `width` exist (direct tail block). kTail: row 2p + 1 is past K and reads as zero.
template <bool kPacked, bool kTail, class Src>
inline __attribute__((always_inline)) void load_w(const Src& s, int64_t c, Cols width, int64_t p, __m256i out[2]) {
  if constexpr (kPacked) {
    const uint8_t* q = s.packed + ((c / kSub) * s.ns + p) * 32;
    out[0] = _mm256_cvtepi8_epi16(_mm_load_si128(reinterpret_cast<const __m128i*>(q)));
    out[1] = _mm256_cvtepi8_epi16(_mm_load_si128(reinterpret_cast<const __m128i*>(q + 16)));
  } else {
    __m128i lo, hi;
    pair_rows<kTail>(s.w + 2 * p * s.ldw + c, s.ldw, width, lo, hi);
    out[0] = _mm256_cvtepi8_epi16(lo);
    out[1] = _mm256_cvtepi8_epi16(hi);
  }
}

// The pair (a[k], a[k+1]) sign-extended to int16 in every 32-bit lane; kTail: a[k+1] is past K.
template <bool kTail>
inline __attribute__((always_inline)) __m256i a_bcast(const int8_t* p, int64_t) {
  int16_t v = 0;
  std::memcpy(&v, p, kTail ? 1 : 2);
  return _mm256_cvtepi8_epi16(_mm_set1_epi16(v));
}

inline __m256i dot_acc(__m256i acc, __m256i w, __m256i a) { return _mm256_add_epi32(acc, _mm256_madd_epi16(w, a)); }
inline int32_t row_corr(const int8_t*, int64_t) { return 0; }
inline void unpermute_direct(__m256i*) {}
inline __m256 cvt_i32_f32(__m256i v) { return _mm256_cvtepi32_ps(v); }
// One K pair of one panel (rows of src, columns [0, width)) in the packed layout, non-temporal.
inline void pack_group(const int8_t* src, int64_t ldw, int64_t rows, int64_t width, uint8_t* o) {
  __m128i lo, hi;
  if (rows >= 2)
    pair_rows<false>(src, ldw, width, lo, hi);
  else
    pair_rows<true>(src, ldw, width, lo, hi);
  _mm_stream_si128(reinterpret_cast<__m128i*>(o), lo);
  _mm_stream_si128(reinterpret_cast<__m128i*>(o + 16), hi);
}

}  // namespace
}  // namespace kcs::opt

#include "optimized/gemm_i8-inl.h"

