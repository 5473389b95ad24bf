// INT8 GEMM + dequant (spec §1.2), AVX-512 F/BW/VL + VNNI: the integer core and the packing; the
// engine is optimized/gemm_i8-inl.h, the scheme (vpdpbusd on biased weights, accumulators from
// -128·rowsum(a)) and the packed layout optimized/gemm_i8.h.
//   packed  register tiles of 1 x 64, 2 x 128 or 3..6 x 64 (up to 24 zmm accumulators); column
//           chunks of 256, row chunks of 48.
//   direct  4 weight rows x 64 bytes interleaved in registers (quad_rows), columns permuted within
//           them (lane L, dword d of zmm j is column 16L + 4j + d; the epilogue undoes it with
//           transpose_lanes). K passes of 2 quads (8 weight rows), the rows 8 quads ahead prefetched.
// The dequant's cvtdq2ps has embedded round-to-nearest (independent of MXCSR.RC).
// Like every ISA file, this one calls no inline helper of the kcs headers (optimized/simd_scalar.h).
#include <cstdint>
#include <cstring>

#include "optimized/avx512/simd.h"
#include "optimized/gemm_i8.h"

namespace kcs::opt {

namespace {

constexpr int kKs = 4;               // K per step (a quad)
constexpr int64_t kSub = 64;         // columns per sub-block (4 zmm of int32) = packed panel width
constexpr int64_t kChunkCols = 256;  // columns per chunk (4 sub-blocks)
constexpr int64_t kChunkRows = 48;   // rows per chunk (8 tiles of 6 rows)
constexpr int kMaxRows = 6;          // tallest register tile
// Direct path: columns whose partial sums wait in scratch between K passes (a weight row is read
// in runs of up to this many bytes), and the default K quads per pass (8 weight rows in flight).
constexpr int64_t kDirectCols = 4096;
constexpr int64_t kDirectSteps = 2;
// Direct path: each pass's rows are runs of <= 4 KiB that the hardware prefetchers have to pick
// up anew, so the rows 8 quads ahead are prefetched into L2 at the same columns (measured on
// Zen 4, M = 1, K1 q_b: 0.59 -> 0.64 of the read bandwidth limit, median of interleaved runs).
constexpr int64_t kPrefetchSteps = 8;

// Sub-blocks per packed tile: one row reads one 64-column panel per tile, a single sequential
// stream (M = 1 is bandwidth bound; 4 panels at once measured slower); 2 rows take two panels,
// 3..6 rows one (up to 24 accumulators).
constexpr int nb_for(int mr) { return mr == 2 ? 2 : 1; }

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

// Weight rows [0, 4) of p (kTail: only [0, rows)) at the columns `cols`, others zero, as 4 zmm of
// biased 4-byte k groups (column-permuted, see the file comment).
template <bool kTail>
inline __attribute__((always_inline)) void quad_rows(const int8_t* p, int64_t ldw, __mmask64 cols, int64_t rows,
                                                     VI out[4]) {
  VI r[4];
  for (int i = 0; i < 4; ++i)
    if (!kTail && cols == ~__mmask64{0})  // whole block: plain loads
      r[i] = _mm512_loadu_si512(p + i * ldw);
    else
      r[i] = (!kTail || i < rows) ? _mm512_maskz_loadu_epi8(cols, p + i * ldw) : set1_u32(0);
  const VI t0 = _mm512_unpacklo_epi8(r[0], r[1]), t1 = _mm512_unpackhi_epi8(r[0], r[1]);
  const VI t2 = _mm512_unpacklo_epi8(r[2], r[3]), t3 = _mm512_unpackhi_epi8(r[2], r[3]);
  const VI bias = set1_u32(0x80808080u);
  out[0] = xor_i(_mm512_unpacklo_epi16(t0, t2), bias);
  out[1] = xor_i(_mm512_unpackhi_epi16(t0, t2), bias);
  out[2] = xor_i(_mm512_unpacklo_epi16(t1, t3), bias);
  out[3] = xor_i(_mm512_unpackhi_epi16(t1, t3), bias);
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

using Cols = __mmask64;  // the sub-block's columns that exist
inline Cols cols_of(int64_t lo, int64_t hi) { return static_cast<__mmask64>(bit_range(lo, hi)); }

// 4 zmm of biased weights for columns [c, c + 64) and K quad q. Direct loads are masked to the
// columns `cols` (relative to c) so nothing outside the call's columns is read. kTail: the quad
// runs past K; missing rows load as zero (their A bytes are zero too).
template <bool kPacked, bool kTail, class Src>
inline __attribute__((always_inline)) void load_w(const Src& s, int64_t c, Cols cols, int64_t q, __m512i out[4]) {
  if constexpr (kPacked) {
    const uint8_t* p = s.packed + ((c / kSub) * s.ns + q) * 256;
    for (int j = 0; j < 4; ++j) out[j] = _mm512_load_si512(p + 64 * j);
  } else {
    quad_rows<kTail>(s.w + 4 * q * s.ldw + c, s.ldw, cols, s.k - 4 * q, out);
  }
}

// The quad of A at p broadcast; kTail: only `left` (< 4) bytes exist, the rest stay zero.
template <bool kTail>
inline __m512i a_bcast(const int8_t* p, int64_t left) {
  int32_t av = 0;
  if constexpr (kTail)
    std::memcpy(&av, p, static_cast<size_t>(left));
  else
    av = load_i32(p);
  return _mm512_set1_epi32(av);
}

inline __m512i dot_acc(__m512i acc, __m512i w, __m512i a) { return _mm512_dpbusd_epi32(acc, w, a); }
inline int32_t row_corr(const int8_t* a, int64_t k) {
  return static_cast<int32_t>(0u - 128u * static_cast<uint32_t>(row_sum(a, k)));
}
inline void unpermute_direct(VI v[4]) { transpose_lanes(v); }  // quad_rows' column order undone
inline __m512 cvt_i32_f32(__m512i v) {
  return _mm512_cvt_roundepi32_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
}
// One K quad of one panel (rows of src, columns [0, width)) in the packed layout: the engine's
// accumulators are addressed in column order, and the lane transpose that undoes quad_rows'
// permutation works on any 32-bit elements, here the 4-byte k groups. Non-temporal stores: no
// read-for-ownership of the destination (a third of the traffic).
inline void pack_group(const int8_t* src, int64_t ldw, int64_t rows, int64_t width, uint8_t* o) {
  VI v[4];
  quad_rows<true>(src, ldw, cols_of(0, width), rows, v);
  transpose_lanes(v);
  for (int j = 0; j < 4; ++j) _mm512_stream_si512(reinterpret_cast<__m512i*>(o + 64 * j), v[j]);
}

}  // namespace
}  // namespace kcs::opt

#include "optimized/gemm_i8-inl.h"

