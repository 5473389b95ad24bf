// INT8 GEMM + dequant (spec §1.2), AVX-512 F/BW/VL + VNNI: the integer core and the packing; the
// engine is optimized/gemm_i8-inl.h. Bit-identical to gemm_i8_reference.
//
// Integer core: vpdpbusd(acc, w ^ 0x80 (u8), a (s8, 4 consecutive k broadcast)) sums
// a·(w + 128); the accumulators start at −128·rowsum(a), so after all K they hold the exact
// Σ a·w, and every partial sum on the way (acc_t − 128·Σ_{j>t} a_j) stays within ±2^14·K < 2^31.
// The saturating vpmaddubsw is never used.
//
//   packed  4 aligned zmm per 64 columns and K quad (biased, in column order). Register tiles of
//           1 x 64, 2 x 128 or 3..6 x 64 (up to 24 zmm accumulators); per K quad one 32-bit
//           broadcast of A per row and rows x cols/16 vpdpbusd. Column chunks of 256, row chunks
//           of 48.
//   direct  4 rows x 64 bytes interleaved in registers (vpunpck{l,h}bw + vpunpck{l,h}wd, then
//           xor 0x80) into 4 zmm of {w[4q..4q+3, c]}, columns permuted within them (lane L,
//           dword d of zmm j is column 16L + 4j + d; the epilogue undoes it with two rounds of
//           vshufi32x4). K passes of 2 quads (8 weight rows), the rows 8 quads ahead prefetched.
// The dequant's cvtdq2ps has embedded round-to-nearest (independent of MXCSR.RC).
//
// This translation unit is compiled with AVX-512 flags. It calls no inline helper of the kcs
// headers (see optimized/avx512/q8.cc): everything here is static or in an anonymous namespace.
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

// 4 rows x 64 bytes -> 4 zmm of 4-byte k groups (column-permuted, see the file comment).
inline __attribute__((always_inline)) void interleave4(__m512i r0, __m512i r1, __m512i r2, __m512i r3, __m512i out[4]) {
  const __m512i t0 = _mm512_unpacklo_epi8(r0, r1), t1 = _mm512_unpackhi_epi8(r0, r1);
  const __m512i t2 = _mm512_unpacklo_epi8(r2, r3), t3 = _mm512_unpackhi_epi8(r2, r3);
  out[0] = _mm512_unpacklo_epi16(t0, t2);
  out[1] = _mm512_unpackhi_epi16(t0, t2);
  out[2] = _mm512_unpacklo_epi16(t1, t3);
  out[3] = _mm512_unpackhi_epi16(t1, t3);
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
  const __m512i bias = _mm512_set1_epi8(static_cast<char>(0x80));
  if constexpr (kPacked) {
    const uint8_t* p = s.packed + ((c / kSub) * s.ns + q) * 256;
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
inline void unpermute_direct(VI v[4]) { transpose_lanes(v); }  // interleave4's column order undone
inline __m512 cvt_i32_f32(__m512i v) {
  return _mm512_cvt_roundepi32_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
}

}  // namespace
}  // namespace kcs::opt

#include "optimized/gemm_i8-inl.h"

namespace kcs::opt {

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
      transpose_lanes(v);
      uint8_t* o = out + (p * nq + q) * 256;
      // Non-temporal: no read-for-ownership of the destination (a third of the traffic).
      for (int j = 0; j < 4; ++j)
        _mm512_stream_si512(reinterpret_cast<__m512i*>(o + 64 * j), _mm512_xor_si512(v[j], bias));
    }
  }
  _mm_sfence();  // order the weakly ordered stores before anyone reads the panels
}

}  // namespace kcs::opt
