// INT8 GEMM + dequant (spec §1.2), AVX2 only (no AVX-VNNI, no FMA): the integer core and the
// packing; the engine is optimized/gemm_i8-inl.h. Bit-identical to gemm_i8_reference.
//
// Integer core: for each K pair (k, k+1) the weight rows are interleaved bytewise
// ({w[k, c], w[k+1, c]} per column), sign-extended to int16 (vpmovsxbw) and multiplied with the
// broadcast pair (a[k], a[k+1]) by vpmaddwd, which forms a·w + a'·w' exactly (|.| <= 2^15) in
// int32; vpaddd accumulates from zero (no correction). The saturating vpmaddubsw is never used.
//
// Register tiles (rows x columns): 1 x 64, 2 x 32, 3..4 x 16, i.e. 6 to 8 ymm accumulators of 8
// int32 columns each. Weights come either
//   direct: from row-major W, two 16-byte row loads per 16 columns, vpunpck{l,h}bw (columns stay
//           in order; the last, partial 16-column block of a call goes through a zero-padded
//           copy so nothing outside the call's columns is read), or
//   packed: from pack_i8_panels_avx2's layout (the interleaved bytes, 32 per pair and panel).
// Packed: column chunks of 64, row chunks of 48; direct: groups of <= 4 rows, K passes of 4 pairs.
// The dequant's cvtdq2ps rounds to nearest even under the default MXCSR, which kcs never changes
// (the reference's int -> float conversion runs under the same MXCSR).
//
// Compiled with -mavx2 -mfma -mf16c; calls no inline helper of the kcs headers (see
// optimized/avx2/q8.cc).
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

// Weights of columns [c, c + 16) for K pair p as 2 ymm of int16 pairs (columns 0-7, 8-15).
// width < 16: only the first `width` columns exist (direct tail block; copied, zero padded).
// kTail: row 2p + 1 is past K and reads as zero.
template <bool kPacked, bool kTail, class Src>
inline __attribute__((always_inline)) void load_w(const Src& s, int64_t c, Cols width, int64_t p, __m256i out[2]) {
  if constexpr (kPacked) {
    const uint8_t* q = s.packed + ((c / kSub) * s.ns + p) * 32;
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

}  // namespace
}  // namespace kcs::opt

#include "optimized/gemm_i8-inl.h"

namespace kcs::opt {

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
