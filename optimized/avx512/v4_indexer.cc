// K3 score path, AVX-512 (F/BW, VNNI): the instructions that differ from AVX2; the group loop,
// micro-kernel and epilogue are optimized/v4_indexer-inl.h (scheme: optimized/v4_indexer.h).
// vpdpbusd is u8 x s8: the KV codes carry the +128 bias (u8 = c ^ 0x80), so
// Σ (c + 128)·q = acc + 128·Σ_d q[h, d]: accumulators start at -128·colsum[h] (qh_init).
// No inline helper of the kcs headers is called here (see optimized/avx512/q8.cc).
#include <cstdint>
#include <cstring>

#include "optimized/avx512/simd.h"
#include "optimized/q8.h"
#include "optimized/v4_indexer.h"

namespace kcs::opt {

namespace {

constexpr int kVecs = 3;       // 48 rows share every qh broadcast: 24 accumulators + 3 KV + 1 of 32 zmm
constexpr int kHeadBlock = 8;  // 24 vpdpbusd chains (10 cover its latency at its throughput)
constexpr int kQuadWords = 1;  // one biased u8 quad per row
constexpr int64_t kChunk = 64;

struct KV {
  __m512i x;
};
struct QB {
  __m512i b;
};
inline KV load_kv(const int32_t* p) { return {_mm512_load_si512(p)}; }
inline QB bcast_q(const int32_t* q, int64_t) { return {_mm512_set1_epi32(q[0])}; }
inline __m512i acc_init(const V4ScoreArgs& a, int64_t h) { return _mm512_set1_epi32(a.qh_init[h]); }
// acc += u8(kv) x s8(b), in place. GCC 12 does not tie the accumulator of the vpdpbusd builtin to
// its output inside a loop (it copied every accumulator through other registers each K step).
inline void dot(__m512i& acc, const KV& kv, const QB& b) { __asm__("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(kv.x), "v"(b.b)); }
inline __m512 relu_f(__m512i acc) { return _mm512_cvtepi32_ps(_mm512_max_epi32(acc, _mm512_setzero_si512())); }

// 16 x 16 dword transpose in registers (unpack 32 / 64, then two 128-bit lane shuffles):
// on entry r[k] = dwords of row k, on exit r[j] = dword j of every row.
inline void transpose16(__m512i* r) {
  __m512i t[16];
  #pragma GCC unroll 16
  for (int k = 0; k < 8; ++k) {
    t[2 * k] = _mm512_unpacklo_epi32(r[2 * k], r[2 * k + 1]);
    t[2 * k + 1] = _mm512_unpackhi_epi32(r[2 * k], r[2 * k + 1]);
  }
  #pragma GCC unroll 16
  for (int k = 0; k < 4; ++k) {
    r[4 * k] = _mm512_unpacklo_epi64(t[4 * k], t[4 * k + 2]);
    r[4 * k + 1] = _mm512_unpackhi_epi64(t[4 * k], t[4 * k + 2]);
    r[4 * k + 2] = _mm512_unpacklo_epi64(t[4 * k + 1], t[4 * k + 3]);
    r[4 * k + 3] = _mm512_unpackhi_epi64(t[4 * k + 1], t[4 * k + 3]);
  }
  #pragma GCC unroll 16
  for (int h = 0; h < 2; ++h)
    #pragma GCC unroll 16
    for (int k = 0; k < 4; ++k) {
      t[8 * h + k] = _mm512_shuffle_i32x4(r[8 * h + k], r[8 * h + k + 4], 0x88);
      t[8 * h + k + 4] = _mm512_shuffle_i32x4(r[8 * h + k], r[8 * h + k + 4], 0xDD);
    }
  #pragma GCC unroll 16
  for (int k = 0; k < 8; ++k) {
    r[k] = _mm512_shuffle_i32x4(t[k], t[k + 8], 0x88);
    r[k + 8] = _mm512_shuffle_i32x4(t[k], t[k + 8], 0xDD);
  }
}

// 16 rows x one 64-byte chunk of codes -> 16 quads of the [quad][row] layout, biased.
inline void pack_chunk(const int8_t* codes, int64_t Dh, int32_t* kvt, int v, int64_t c) {
  const __m512i bias = _mm512_set1_epi32(static_cast<int32_t>(0x80808080u));
  const int8_t* base = codes + v * kLanes * Dh + 64 * c;
  __m512i r[16];
  #pragma GCC unroll 16
  for (int k = 0; k < 16; ++k) r[k] = _mm512_loadu_si512(base + k * Dh);
  transpose16(r);
  #pragma GCC unroll 16
  for (int j = 0; j < 16; ++j) _mm512_store_si512(kvt + (16 * c + j) * (kLanes * kVecs) + v * kLanes, _mm512_xor_si512(r[j], bias));
}
inline void pack_quad(int32_t* kvt, int64_t q, int row, const int8_t* c) {
  uint32_t w;
  std::memcpy(&w, c, 4);
  kvt[q * (kLanes * kVecs) + row] = static_cast<int32_t>(w ^ 0x80808080u);
}

// The |bf16| maxima of rows [0, n) (n <= 16), as binary32 bit patterns in lanes 0 .. n - 1 (the
// others 0): per row a max over its 32-word vectors, then a transposing tree over the 16 rows.
inline __m512i amax_rows(const uint16_t* x, int64_t n, int64_t Dh) {
  const __m512i abs_mask = _mm512_set1_epi16(0x7FFF);
  __m512i m[16];
#pragma GCC unroll 16
  for (int r = 0; r < 16; ++r) {
    m[r] = _mm512_setzero_si512();
    if (r >= n) continue;
    const uint16_t* row = x + r * Dh;
    __m512i a = _mm512_and_si512(_mm512_loadu_si512(row), abs_mask);
    for (int64_t j = 32; j < Dh; j += 32) a = _mm512_max_epu16(a, _mm512_and_si512(_mm512_loadu_si512(row + j), abs_mask));
    m[r] = a;
  }
  // 16 rows x 32 words -> 16 row maxima: halve the words per row while doubling the rows per
  // register (256-, 128-, 64-bit halves), then the dword pairs and the word pairs.
  __m512i n1[8], n2[4], n3[2];
#pragma GCC unroll 16
  for (int k = 0; k < 8; ++k)
    n1[k] = _mm512_max_epu16(_mm512_shuffle_i64x2(m[2 * k], m[2 * k + 1], 0x44),
                             _mm512_shuffle_i64x2(m[2 * k], m[2 * k + 1], 0xEE));
#pragma GCC unroll 16
  for (int k = 0; k < 4; ++k)  // 128-bit lane L: row 4k + L
    n2[k] = _mm512_max_epu16(_mm512_shuffle_i64x2(n1[2 * k], n1[2 * k + 1], 0x88),
                             _mm512_shuffle_i64x2(n1[2 * k], n1[2 * k + 1], 0xDD));
#pragma GCC unroll 16
  for (int k = 0; k < 2; ++k)  // lane L: rows 8k + L (low qword), 8k + 4 + L (high)
    n3[k] = _mm512_max_epu16(_mm512_unpacklo_epi64(n2[2 * k], n2[2 * k + 1]),
                             _mm512_unpackhi_epi64(n2[2 * k], n2[2 * k + 1]));
  const __m512i t0 = _mm512_max_epu16(n3[0], _mm512_shuffle_epi32(n3[0], _MM_PERM_CDAB));
  const __m512i t1 = _mm512_max_epu16(n3[1], _mm512_shuffle_epi32(n3[1], _MM_PERM_CDAB));
  const __m512i t = _mm512_mask_blend_epi32(0xAAAA, t0, t1);  // lane L: rows L, 8+L, 4+L, 12+L
  const __m512i w = _mm512_slli_epi32(_mm512_max_epu16(t, _mm512_srli_epi32(t, 16)), 16);
  return _mm512_permutexvar_epi32(_mm512_setr_epi32(0, 4, 8, 12, 2, 6, 10, 14, 1, 5, 9, 13, 3, 7, 11, 15), w);
}

template <bool kRhaz>
inline void q8_codes_fast(const uint16_t* x, int64_t Dh, float s_q_scalar, int8_t* codes) {
  // 64 codes per step, as the engine's BF16 path: unpack widens, vpackssdw / vpacksswb saturate
  // (|y| <= 127.5 here), vpermq restores the element order.
  const __m512 s_q = _mm512_set1_ps(s_q_scalar);
  const __m512i zero = _mm512_setzero_si512();
  const __m512i order = _mm512_setr_epi64(0, 2, 4, 6, 1, 3, 5, 7);
  auto round16 = [&](__m512i bits) -> __m512i {
    const __m512 y = _mm512_mul_ps(_mm512_castsi512_ps(bits), s_q);
    if constexpr (kRhaz) {
      const __m512 t = _mm512_roundscale_ps(y, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
      const __m512 f = _mm512_abs_ps(_mm512_sub_ps(y, t));
      const __mmask16 up = _mm512_cmp_ps_mask(f, _mm512_set1_ps(0.5f), _CMP_GE_OQ);
      const __m512 sign_one = _mm512_castsi512_ps(_mm512_ternarylogic_epi32(
          _mm512_castps_si512(y), _mm512_set1_epi32(INT32_MIN), _mm512_castps_si512(_mm512_set1_ps(1.0f)), 0xEA));
      return _mm512_cvttps_epi32(_mm512_mask_add_ps(t, up, t, sign_one));
    } else {
      return _mm512_cvt_roundps_epi32(y, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    }
  };
  for (int64_t j = 0; j < Dh; j += 64) {
    const __m512i xa = _mm512_loadu_si512(x + j), xb = _mm512_loadu_si512(x + j + 32);
    const __m512i a0 = round16(_mm512_unpacklo_epi16(zero, xa));
    const __m512i a1 = round16(_mm512_unpackhi_epi16(zero, xa));
    const __m512i b0 = round16(_mm512_unpacklo_epi16(zero, xb));
    const __m512i b1 = round16(_mm512_unpackhi_epi16(zero, xb));
    const __m512i packed = _mm512_packs_epi16(_mm512_packs_epi32(a0, a1), _mm512_packs_epi32(b0, b1));
    _mm512_storeu_si512(codes + j, _mm512_permutexvar_epi64(order, packed));
  }
}

}  // namespace

}  // namespace kcs::opt

#include "optimized/v4_indexer-inl.h"

namespace kcs::opt {

void v4_score_rows_avx512(const V4ScoreArgs& a, int64_t j0, int64_t j1) { score_rows(a, j0, j1); }

}  // namespace kcs::opt
