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

constexpr int kVecs = 2;       // 16 rows share every qh broadcast
constexpr int kHeadBlock = 4;  // 8 accumulators + 4 KV + 2 broadcasts of the 16 ymm registers
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

// The Q8 engine per row: the products dominate here (4 instructions per 32 MACs).
inline void q8_scales(const Q8Params&, const uint16_t*, int64_t, int64_t, float*, float*, uint8_t*) {}
inline void q8_codes(const Q8Params& p, const uint16_t* x, int64_t Dh, float, uint8_t, int8_t* codes, float* s_dq) {
  Q8Rows qa;
  qa.x = x;
  qa.x_dtype = DType::bf16;
  qa.n = Dh;
  qa.params = p;
  qa.codes = codes;
  qa.scale = s_dq;
  qa.scale_dtype = DType::fp32;
  q8_rows_avx2(qa, 0, 1);
}

}  // namespace

}  // namespace kcs::opt

#include "optimized/v4_indexer-inl.h"

namespace kcs::opt {

void v4_score_rows_avx2(const V4ScoreArgs& a, int64_t j0, int64_t j1) { score_rows(a, j0, j1); }

}  // namespace kcs::opt
