// K3 score path, AVX2: the instructions that differ from AVX-512; the group loop, Q8, transposes,
// micro-kernel and epilogue are optimized/v4_indexer-inl.h (scheme: optimized/v4_indexer.h). AVX2
// has no exact 8-bit dot product (vpmaddubsw saturates its int16 pair sums: 255·127·2 > 2^15), so
// each K quad is split into its even and odd bytes sign-extended to int16, and vpmaddwd multiplies
// them by the matching (q0, q2) / (q1, q3) pairs of qh: exact, no bias.
// Like every ISA file, this one calls no inline helper of the kcs headers (optimized/simd_scalar.h).
#include <cstdint>

#include "optimized/avx2/simd.h"
#include "optimized/v4_indexer.h"

namespace kcs::opt {
namespace {

constexpr int kVecs = 1;       // 8 rows per group (two row vectors: fewer loads, but slower here)
constexpr int kHeadBlock = 8;  // 8 accumulators + 2 KV + 2 broadcasts of the 16 ymm registers
constexpr int kQuadWords = 2;  // int16 pairs (c0, c2) and (c1, c3) per row
constexpr bool kBiased = false;

// One quad per row as its int16 pairs (c0, c2) and (c1, c3), kLanes·kVecs dwords apart.
inline void put_quads(int32_t* dst, VI q) {
  storev_u32(dst, sar_i16<8>(shl_u16<8>(q)));
  storev_u32(dst + kLanes * kVecs, sar_i16<8>(q));
}
inline void pack_quad(int32_t* kvt, int64_t q, int row, const int8_t* c) {
  auto pair = [](int32_t lo, int32_t hi) {
    return static_cast<int32_t>((static_cast<uint32_t>(lo) & 0xFFFFu) | (static_cast<uint32_t>(hi) << 16));
  };
  kvt[(2 * q) * (kLanes * kVecs) + row] = pair(c[0], c[2]);
  kvt[(2 * q + 1) * (kLanes * kVecs) + row] = pair(c[1], c[3]);
}
inline void dot(VI& acc, const VI (&kv)[2], const VI (&b)[2]) {
  acc = _mm256_add_epi32(acc, _mm256_add_epi32(_mm256_madd_epi16(kv[0], b[0]), _mm256_madd_epi16(kv[1], b[1])));
}

}  // namespace
}  // namespace kcs::opt

#include "optimized/v4_indexer-inl.h"

namespace kcs::opt {

void v4_score_rows_avx2(const V4ScoreArgs& a, int64_t j0, int64_t j1) { score_rows(a, j0, j1); }

}  // namespace kcs::opt
