// K3 score path, AVX-512 (F/BW, VNNI): the instructions that differ from AVX2; the group loop, Q8,
// transposes, micro-kernel and epilogue are optimized/v4_indexer-inl.h (scheme:
// optimized/v4_indexer.h). vpdpbusd is u8 x s8: the KV codes carry the +128 bias (u8 = c ^ 0x80),
// so Σ (c + 128)·q = acc + 128·Σ_d q[h, d]: accumulators start at -128·colsum[h] (qh_init).
// Like every ISA file, this one calls no inline helper of the kcs headers (optimized/simd_scalar.h).
#include <cstdint>
#include <cstring>

#include "optimized/avx512/simd.h"
#include "optimized/v4_indexer.h"

namespace kcs::opt {
namespace {

constexpr int kVecs = 3;       // 48 rows share every qh broadcast: 24 accumulators + 3 KV + 1 of 32 zmm
constexpr int kHeadBlock = 8;  // 24 vpdpbusd chains (10 cover its latency at its throughput)
constexpr int kQuadWords = 1;  // one biased u8 quad per row
constexpr bool kBiased = true;

// One packed quad per row: the codes biased to u8.
inline void put_quads(int32_t* dst, VI q) { storev_u32(dst, xor_i(q, set1_u32(0x80808080u))); }
inline void pack_quad(int32_t* kvt, int64_t q, int row, const int8_t* c) {
  uint32_t w;
  std::memcpy(&w, c, 4);
  kvt[q * kVecs * kLanes + row] = static_cast<int32_t>(w ^ 0x80808080u);
}

// acc += u8(kv) x s8(b), in place. GCC 12 does not tie the accumulator of the vpdpbusd builtin to
// its output inside a loop (it copied every accumulator through other registers each K step).
inline void dot(VI& acc, const VI (&kv)[1], const VI (&b)[1]) {
  __asm__("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(kv[0]), "v"(b[0]));
}

}  // namespace
}  // namespace kcs::opt

#include "optimized/v4_indexer-inl.h"

namespace kcs::opt {

void v4_score_rows_avx512(const V4ScoreArgs& a, int64_t j0, int64_t j1) { score_rows(a, j0, j1); }

}  // namespace kcs::opt
