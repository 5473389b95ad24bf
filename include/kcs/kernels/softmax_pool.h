// softmax_pool: gated softmax pooling over the positions of a block window, the reduction at
// the core of the K5 CSA / HCA compressor (spec §7.4 "Reduction", §9 K5 column).
//
// For every block i and column c, over the M window positions q (in the order they are given):
//   mx  = max(-FLT_MAX, z_q)      fmax: NaN logits are ignored here
//   e_q = exp(z_q - mx)
//   den = sum_q e_q,  acc = sum_q e_q * v_q,  pooled = acc / den
// The reference evaluates all of it in binary64 (spec §10.1, "exp in double") and stores
// pooled = f32(acc / den).
// Edge semantics (docs/kernels/softmax_pool.md): a NaN logit makes e_q and so pooled NaN; all logits -inf gives
// mx = -FLT_MAX, every e_q = 0 and pooled = 0/0 = NaN; a +inf logit gives mx = +inf and
// e = exp(inf - inf) = NaN; NEG_FILL = -FLT_MAX logits are finite (all NEG_FILL: e_q = 1).
//
// Window assembly is the caller's (the K5 fused kernel's): the logits are z = score + ape
// (the official state buffer holds this fp32 sum, spec §7.8 / §10.5 "one fp32 add of ape"),
// CSA windows hold the current block's M positions then the previous block's M positions
// (B_a / B_b halves, prev_b for block 0 with has_external_prev), and a fresh first block pads
// the missing half with logit -inf and value 0, which is exactly the official "missing half"
// semantics (spec §7.4) and adds e = 0 to both sums. HCA windows are the block's M positions.
#pragma once

