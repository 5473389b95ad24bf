// K3: DeepSeek V4 decode indexer, W8A8C16 score path + top-k (docs/kernels/v4_indexer.md, pypto-lib PR #268 with
// the PR #279 rounding). Per decode token t (B tokens, S = 1):
//   qr_i8, s_qr = Q8(qr[t])                                   (floor 1e-4, round_mode)
//   q     = bf16((f32(qr_i8 · wq_b) ⊗ s_qr) ⊗ wq_b_scale)     [H, Dh], rope slice = last R columns
//   q_rot = R-PAIR(q) with the shared FP32 half table row      (bf16 per element)
//   qh    = bf16(q_rot · hadamard)                             (fp32-acc GEMM over Dh)
//   qh_i8, s_qh = Q8(qh[t, h])                                 per head
//   w     = f32(x · weights_proj) ⊗ WS,  WS = f32(Dh^-0.5 · H^-0.5)   (no BF16 rounding)
//   cache_len = (start_pos + S) div 4; score = NEG_FILL (-FLT_MAX), topk_idxs = -1
//   kv_i8[j], s_kv[j] = Q8(idx_kv_cache[t, j])                 for j < cache_len only
//   lg[j, h] = (f32(kv_i8[j] · qh_i8[h]) ⊗ s_kv[j]) ⊗ s_qh[h]  (kv scale first)
//   score[j] = Σ_h max(lg, lg ⊗ 0) ⊗ w[h]                     (fp32 sum, any order)
//   topk_idxs[0, k) = the k = min(TOPK, cache_len) best j, descending, ties by lower j, + offset.
// The inner compressor (§5.4) is K5's; the cache given here already holds the current entry.
#pragma once

#include <cstdint>

#include "kcs/kernels/q8.h"

namespace kcs {

struct Problem;

// NEG_FILL of spec §0.3: the most negative finite float, not -inf.
constexpr float kV4NegFill = -3.4028234663852886e38f;
constexpr int64_t kV4CompressRatio = 4;

inline int64_t v4_indexer_cache_len(int64_t start_pos, int64_t S) { return (start_pos + S) / kV4CompressRatio; }

// The Q8 of qr, qh and the cache: amax floor 1e-4, the round_mode attribute. Throws kcs::Error on
// an unknown mode.
Q8Params v4_indexer_q8_params(const Problem& p);

// WS = f32(Dh^-0.5 · H^-0.5), rounded once from binary64 (f32(0.011048543456...) for 128, 64).
float v4_indexer_weights_scale(int64_t Dh, int64_t H);

// Spec §10.5 K3 score rule (L6's with the atol scaled by the valid region's rms):
//   tol(r) = 1e-4·max(1, rms) + 2^-7·|r|        (at most 0.5% of the valid elements beyond it)
//   hard(r) = max(4·tol(r), 5e-3·max(1, rms))   (every valid element)
// hard() is also the tau of the topk_set contract.
double v4_score_tol(double r, double rms);
double v4_score_hard_tol(double r, double rms);
constexpr double kV4ScoreMaxRatio = 0.005;
// The score's budget B (reference/v4_indexer.cc, docs/kernels/v4_indexer.md "Contracts"), added to
// both tolerances and to tau: kV4QFlipUnit of the abs-dot |w_h|·s_kv·s_qh·Σ_d |kv_i8·qh_i8| of
// every head whose RoPE a correct binary32 backend may round to another BF16 (a BF16 unit of that
// head's q); 0 where the reference proves every shared input (q path, weights) reproduced.
constexpr double kV4QFlipUnit = 0x1.0p-8;

}  // namespace kcs
