// K3 score-path kernels, one per ISA (optimized/avx512/v4_indexer.cc, optimized/avx2/v4_indexer.cc),
// one body: optimized/v4_indexer-inl.h. The AMX variant (optimized/amx/v4_indexer.cc) computes the
// same int32 accumulators with tile products and the same epilogue: the AVX-512 bits.
//
// One token's cache rows [j0, j1) are taken in groups (48 rows = 3 vectors AVX-512, 8 rows AVX2). Per
// group: the rows are quantized (bit-exact Q8, floor 1e-4; the scales of a row vector at once) into
// an L1 buffer, transposed into the dot layout (one 32-bit K group per row per lane), then for
// blocks of 8 heads
//   acc[h][lane] = Σ_d kv_i8[row, d] · qh_i8[h, d]                         exact int32
//   score[row] = s_kv[row] ⊗ Σ_h f32(max(acc, 0)) ⊗ c[h],  c[h] = s_qh[h] ⊗ w[h]
// with h ascending, one binary32 multiply and one add per head (no FMA), the row scale applied once
// after the head sum. This is the spec's (f32(acc) ⊗ s_kv ⊗ s_qh, ReLU, ⊗ w) regrouped: s_kv and
// s_qh are positive, so ReLU commutes with them, and the products round differently by a few
// binary32 ulps, far inside the score contract (spec §10.5); it saves two of three multiplies,
// which share the execution ports of vpdpbusd. Rows sit in lanes, so the head sum has the same
// order on both ISAs and for every tiling: AVX-512 and AVX2 give the same bits, and cache_tile /
// token tiling / threads change none. The next group's Q8 and transposes run between the current
// group's head blocks, and the group after that is prefetched (Dh <= 512; longer rows one group
// at a time).
//   AVX-512: vpdpbusd is u8 x s8; the KV codes carry the +128 bias (u8 = c ^ 0x80), so
//            Σ (c + 128)·q = acc + 128·Σ_d q[h, d]: accumulators start at -128·colsum[h].
//   AVX2:    K quads split into even / odd bytes sign-extended to int16, vpmaddwd with the
//            matching (q0, q2) / (q1, q3) pairs of qh: exact, no saturation.
#pragma once

#include <cstdint>
#include <functional>

#include "kcs/cpu.h"
#include "kcs/kernels/q8.h"

namespace kcs::opt {

struct V4ScoreArgs {
  const uint16_t* cache = nullptr;  // this token's cache rows [*, Dh], bf16 patterns
  int64_t Dh = 0, H = 0;
  int64_t Dq = 0;                   // ceil(Dh / 4): 32-bit K groups
  Q8Params q8;                      // floor 1e-4, round mode
  // AVX-512: qh_dw[h * Dq + q] = bytes qh_i8[h, 4q .. 4q+3] (0 past Dh); qh_init[h] = -128·Σ_d qh_i8[h, d].
  // AVX2:    qh_dw[(2h) * Dq + q] = int16 pair (qh[4q], qh[4q+2]), qh_dw[(2h+1) * Dq + q] = (qh[4q+1], qh[4q+3]).
  const int32_t* qh_dw = nullptr;
  const int32_t* qh_init = nullptr;  // AVX-512 only
  const float* s_qh = nullptr;       // [H]
  const float* w = nullptr;          // [H]
  float* score = nullptr;            // this token's score row (index j)
};

void v4_score_rows_avx512(const V4ScoreArgs& a, int64_t j0, int64_t j1);
void v4_score_rows_avx2(const V4ScoreArgs& a, int64_t j0, int64_t j1);
// AMX tile products, the rest as AVX-512 (optimized/amx/v4_indexer.cc); the AVX-512 qh layout.
void v4_score_rows_amx(const V4ScoreArgs& a, int64_t j0, int64_t j1);

// Runs fn(t, j0, j1) over the score work items (token t, cache tile k = rows [k·ct, min(cl, (k+1)·ct)))
// of T tokens, split over `threads` in contiguous item ranges as `omp for schedule(static)` would;
// the consecutive tiles of one token inside a thread's range go to fn as one row span, so that the
// kernels' row-group pipeline (and prefetch) runs across tile boundaries. Rows are independent:
// no partition changes a bit.
void v4_score_spans(int64_t T, int64_t cl, int64_t ct, int threads,
                    const std::function<void(int64_t, int64_t, int64_t)>& fn);

// Fast top-k of one row (both ISAs share it: integer keys, exact; optimized/v4_indexer.cc).
// Same result as v4_topk_reference: descending, ties by the lower index, + offset, then -1.
void v4_topk_fast(const float* score, int64_t n, int64_t topk, int64_t offset, int32_t* out, int64_t out_len);

// ISA variants, best first (optimized/variants.h).
struct V4IndexerVariant {
  Isa isa;
  decltype(&v4_score_rows_avx2) score_rows;
};
inline constexpr V4IndexerVariant kV4IndexerVariants[] = {
    {Isa::amx, &v4_score_rows_amx},
    {Isa::avx512, &v4_score_rows_avx512},
    {Isa::avx2, &v4_score_rows_avx2},
};

}  // namespace kcs::opt
