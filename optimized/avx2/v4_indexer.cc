// K3 score path, AVX2: the instructions that differ from AVX-512; the group loop, micro-kernel and
// epilogue are optimized/v4_indexer-inl.h (scheme: optimized/v4_indexer.h). AVX2 has no exact
// 8-bit dot product (vpmaddubsw saturates its int16 pair sums: 255·127·2 > 2^15), so each K quad
// is split into its even and odd bytes sign-extended to int16, and vpmaddwd multiplies them by
// the matching (q0, q2) / (q1, q3) pairs of qh: exact, no bias. No inline helper of the kcs
// headers is called here (see optimized/avx512/q8.cc).
#include <cstdint>
#include <cstring>

#include "optimized/avx2/simd.h"
#include "optimized/q8.h"
#include "optimized/v4_indexer.h"

namespace kcs::opt {

namespace {

constexpr int kVecs = 1;       // 8 rows per group (two row vectors: fewer loads, but slower here)
constexpr int kHeadBlock = 8;  // 8 accumulators + 2 KV + 2 broadcasts of the 16 ymm registers
constexpr int kQuadWords = 2;  // int16 pairs (c0, c2) and (c1, c3) per row
constexpr int64_t kChunk = 32;

struct KV {
  __m256i ev, od;
};
struct QB {
  __m256i e, o;
};
inline KV load_kv(const int32_t* p) {
  return {_mm256_load_si256(reinterpret_cast<const __m256i*>(p)),
          _mm256_load_si256(reinterpret_cast<const __m256i*>(p + kLanes * kVecs))};
}
inline QB bcast_q(const int32_t* q, int64_t Dq) { return {_mm256_set1_epi32(q[0]), _mm256_set1_epi32(q[Dq])}; }
inline __m256i acc_init(const V4ScoreArgs&, int64_t) { return _mm256_setzero_si256(); }
inline void dot(__m256i& acc, const KV& kv, const QB& b) {
  acc = _mm256_add_epi32(acc, _mm256_add_epi32(_mm256_madd_epi16(kv.ev, b.e), _mm256_madd_epi16(kv.od, b.o)));
}
inline __m256 relu_f(__m256i acc) { return _mm256_cvtepi32_ps(_mm256_max_epi32(acc, _mm256_setzero_si256())); }

// 8 x 8 dword transpose: on entry r[k] = dwords of row k, on exit r[j] = dword j of every row.
inline void transpose8(__m256i* r) {
  __m256i t[8], u[8];
  #pragma GCC unroll 16
  for (int k = 0; k < 4; ++k) {
    t[2 * k] = _mm256_unpacklo_epi32(r[2 * k], r[2 * k + 1]);
    t[2 * k + 1] = _mm256_unpackhi_epi32(r[2 * k], r[2 * k + 1]);
  }
  #pragma GCC unroll 16
  for (int k = 0; k < 2; ++k) {
    u[4 * k] = _mm256_unpacklo_epi64(t[4 * k], t[4 * k + 2]);
    u[4 * k + 1] = _mm256_unpackhi_epi64(t[4 * k], t[4 * k + 2]);
    u[4 * k + 2] = _mm256_unpacklo_epi64(t[4 * k + 1], t[4 * k + 3]);
    u[4 * k + 3] = _mm256_unpackhi_epi64(t[4 * k + 1], t[4 * k + 3]);
  }
  #pragma GCC unroll 16
  for (int k = 0; k < 4; ++k) {
    r[k] = _mm256_permute2x128_si256(u[k], u[k + 4], 0x20);
    r[k + 4] = _mm256_permute2x128_si256(u[k], u[k + 4], 0x31);
  }
}

// 8 rows x one 32-byte chunk of codes -> 8 quads of the [quad][even, odd][row] layout.
inline void pack_chunk(const int8_t* codes, int64_t Dh, int32_t* kvt, int v, int64_t c) {
  const int8_t* base = codes + v * kLanes * Dh + 32 * c;
  __m256i r[8];
  #pragma GCC unroll 16
  for (int k = 0; k < 8; ++k) r[k] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(base + k * Dh));
  transpose8(r);
  #pragma GCC unroll 16
  for (int j = 0; j < 8; ++j) {
    int32_t* dst = kvt + (8 * c + j) * kQuadWords * (kLanes * kVecs) + v * kLanes;
    _mm256_store_si256(reinterpret_cast<__m256i*>(dst), _mm256_srai_epi16(_mm256_slli_epi16(r[j], 8), 8));  // (c0, c2)
    _mm256_store_si256(reinterpret_cast<__m256i*>(dst + kLanes * kVecs), _mm256_srai_epi16(r[j], 8));      // (c1, c3)
  }
}
inline void pack_quad(int32_t* kvt, int64_t q, int row, const int8_t* c) {
  auto pair = [](int32_t lo, int32_t hi) {
    return static_cast<int32_t>((static_cast<uint32_t>(lo) & 0xFFFFu) | (static_cast<uint32_t>(hi) << 16));
  };
  kvt[(2 * q) * (kLanes * kVecs) + row] = pair(c[0], c[2]);
  kvt[(2 * q + 1) * (kLanes * kVecs) + row] = pair(c[1], c[3]);
}

// The |bf16| maxima of rows [0, n) (n <= 8), as binary32 bit patterns in lanes 0 .. n - 1 (the
// others 0): per row a max over its 16-word vectors, then a transposing tree over the 8 rows.
inline __m256i amax_rows(const uint16_t* x, int64_t n, int64_t Dh) {
  const __m256i abs_mask = _mm256_set1_epi16(0x7FFF);
  __m256i m[8];
#pragma GCC unroll 8
  for (int r = 0; r < 8; ++r) {
    m[r] = _mm256_setzero_si256();
    if (r >= n) continue;
    const uint16_t* row = x + r * Dh;
    __m256i a = _mm256_and_si256(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(row)), abs_mask);
    for (int64_t j = 16; j < Dh; j += 16)
      a = _mm256_max_epu16(a, _mm256_and_si256(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(row + j)), abs_mask));
    m[r] = a;
  }
  // 8 rows x 16 words -> 8 row maxima: halve the words per row while doubling the rows per
  // register (128-, 64-bit halves), then the dword pairs and the word pairs.
  __m256i n1[4], n2[2];
#pragma GCC unroll 4
  for (int k = 0; k < 4; ++k)  // 128-bit lane L: row 2k + L
    n1[k] = _mm256_max_epu16(_mm256_permute2x128_si256(m[2 * k], m[2 * k + 1], 0x20),
                             _mm256_permute2x128_si256(m[2 * k], m[2 * k + 1], 0x31));
#pragma GCC unroll 2
  for (int k = 0; k < 2; ++k)  // lane L: rows 4k + L (low qword), 4k + 2 + L (high)
    n2[k] = _mm256_max_epu16(_mm256_unpacklo_epi64(n1[2 * k], n1[2 * k + 1]),
                             _mm256_unpackhi_epi64(n1[2 * k], n1[2 * k + 1]));
  const __m256i t0 = _mm256_max_epu16(n2[0], _mm256_shuffle_epi32(n2[0], 0xB1));
  const __m256i t1 = _mm256_max_epu16(n2[1], _mm256_shuffle_epi32(n2[1], 0xB1));
  const __m256i t = _mm256_blend_epi32(t0, t1, 0xAA);  // lane L: rows L, 4+L, 2+L, 6+L
  const __m256i w = _mm256_slli_epi32(_mm256_max_epu16(t, _mm256_srli_epi32(t, 16)), 16);
  return _mm256_permutevar8x32_epi32(w, _mm256_setr_epi32(0, 4, 2, 6, 1, 5, 3, 7));
}

// The engine's round8 for rows with a finite amax and s_q (|y| <= 127.5).
template <bool kRhaz>
inline __m256i round8(__m256 v, __m256 s_q) {
  const __m256 y = _mm256_mul_ps(v, s_q);
  __m256 r;
  if constexpr (kRhaz) {
    const __m256 sign = _mm256_castsi256_ps(_mm256_set1_epi32(INT32_MIN));
    const __m256 t = _mm256_round_ps(y, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
    const __m256 f = _mm256_andnot_ps(sign, _mm256_sub_ps(y, t));
    const __m256 up = _mm256_cmp_ps(f, _mm256_set1_ps(0.5f), _CMP_GE_OQ);
    const __m256 sign_one = _mm256_or_ps(_mm256_and_ps(y, sign), _mm256_set1_ps(1.0f));
    r = _mm256_add_ps(t, _mm256_and_ps(up, sign_one));
  } else {
    r = _mm256_round_ps(y, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  }
  return _mm256_cvttps_epi32(r);
}

template <bool kRhaz>
inline void q8_codes_fast(const uint16_t* x, int64_t Dh, float s_q_scalar, int8_t* codes) {
  // 32 codes per step, as the engine: unpack widens, vpackssdw / vpacksswb saturate within
  // 128-bit lanes, vpermq restores the element order.
  const __m256 s_q = _mm256_set1_ps(s_q_scalar);
  const __m256i zero = _mm256_setzero_si256();
  for (int64_t j = 0; j < Dh; j += 32) {
    const __m256i xa = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + j));
    const __m256i xb = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + j + 16));
    const __m256i a0 = round8<kRhaz>(_mm256_castsi256_ps(_mm256_unpacklo_epi16(zero, xa)), s_q);
    const __m256i a1 = round8<kRhaz>(_mm256_castsi256_ps(_mm256_unpackhi_epi16(zero, xa)), s_q);
    const __m256i b0 = round8<kRhaz>(_mm256_castsi256_ps(_mm256_unpacklo_epi16(zero, xb)), s_q);
    const __m256i b1 = round8<kRhaz>(_mm256_castsi256_ps(_mm256_unpackhi_epi16(zero, xb)), s_q);
    const __m256i packed = _mm256_packs_epi16(_mm256_packs_epi32(a0, a1), _mm256_packs_epi32(b0, b1));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(codes + j), _mm256_permute4x64_epi64(packed, _MM_SHUFFLE(3, 1, 2, 0)));
  }
}

}  // namespace

}  // namespace kcs::opt

#include "optimized/v4_indexer-inl.h"

namespace kcs::opt {

void v4_score_rows_avx2(const V4ScoreArgs& a, int64_t j0, int64_t j1) { score_rows(a, j0, j1); }

}  // namespace kcs::opt
