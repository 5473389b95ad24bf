// compressor: the DeepSeek V4 CSA / HCA compressor (docs/kernels/compressor.md, K5): per block of M tokens and per
// column, a gated softmax pooling over the block's window, then an epilogue.
//
// Layout (spec §7.2 / §7.3), G = 2 for CSA and 1 for HCA:
//   proj [N, G, 2C]        CSA: half 0 = [Ca | Za] (current block), half 1 = [Cb | Zb] (read by the
//                          next block as its "previous" half); HCA: [Cv | Z]
//   ape  [G, M, C] fp32    B_a (half 0), B_b (half 1); HCA: B
//   prev_b [MP, 2C]        [Cb_prev | Zb_prev] of the block before block 0 (MP = M when
//                          has_external_prev, else 0); raw score, ape added in-kernel
//   the indexer head (CSA) has the same tensors with C_I columns; HCA has none (C_I = 0).
// Window of block i (t0 = start_token): current positions p = 0..M-1 (token t0 + iM + p, half 0),
// then for CSA the previous positions p = 0..M-1 (token t0 + (i-1)M + p, half 1; block 0: prev_b
// when has_external_prev, else the fresh-block padding logit -inf, value 0). Every logit is ONE
// binary32 add, z = f32(score + ape): the official state buffer holds exactly that fp32 sum
// (spec §7.8, §10.5 "one fp32 add of ape"), the source kernel forms it in fp32, and softmax_pool
// takes fp32 logits. A binary64 logit would sit up to ½ulp_f32(80) = 2^-18 from the fp32 one at
// ±80 logits, moving the weights by 2^-18 relative: beyond the 2^-20 budget of spec §10.5.
//
// Pooling: softmax_pool's reference (binary64 max / exp / sums); pooled kept in binary64.
// Epilogues (spec §7.4 / §7.6; default model):
//   fused  (the CuTe kernel boundary): kv_out[c] = bf16(pooled) for c < NOPE; for the rope pairs
//          (x0, x1) = pooled[c, c+1] the R-PAIR rotation at the block-END position
//          start_abs_pos + iM + M - 1, rounded once to BF16; indexer_out = bf16(pooled), no RoPE.
//   model  (the official model): xb = bf16(pooled); n = bf16(RMSNorm_v4(xb; w, eps));
//          R-PAIR RoPE of n's last ROPE columns at the block-START position start_abs_pos + iM
//          (start_abs_pos must be a multiple of M); indexer: the same with w_I and RoPE on the last
//          ROPE of C_I columns, then y = bf16(n_roped · hadamard) (the rotate path).
// cos_sin_cache [P, ROPE] (fp32 or BF16): cos in columns [0, ROPE/2), sin in [ROPE/2, ROPE).
#pragma once

#include <cstdint>

namespace kcs {

struct Problem;

// Fixed per-call parameters, as the reference and the optimized adapter read them.
struct CompressorParams {
  bool csa = true;        // false: HCA
  bool model = true;      // false: fused epilogue
  bool external_prev = false;
  int64_t n_blocks = 0, N = 0, M = 0, C = 0, C_I = 0, NOPE = 0, ROPE = 0, P = 0;
  int64_t start_token = 0, start_abs_pos = 0;
  double eps = 1e-6;

  int64_t G() const { return csa ? 2 : 1; }
  int64_t window() const { return csa ? 2 * M : M; }  // positions of the softmax_pool window
  // RoPE position of block i (spec §7.5 D7: model = block start, fused = block end).
  int64_t rope_pos(int64_t i) const { return start_abs_pos + i * M + (model ? 0 : M - 1); }
};

// The kernel's dims and attributes, parsed once (check_problem has validated them).
CompressorParams compressor_params(const Problem& p);

}  // namespace kcs
