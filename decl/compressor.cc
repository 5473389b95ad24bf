// Declaration of the K5 CSA / HCA compressor (spec §7; layout and semantics in
// include/kcs/kernels/compressor.h).
//
// Contract of kv_out / indexer_out (BF16). Spec §10.5 K5 row: hard |Δ| <= 2·ulp_bf16(r) +
// 2^-20·Σ_q w_q|v_q|, plus ratio(d_ulp > 1) <= 0.1%. Here: UlpOrBudget(1, 16, ""), hard (no
// ratio): an element passes if d_ulp <= 1 or |a − pre| <= ½ulp(pre) + 16·2^-24·A, with pre the
// reference's binary64 value before the output cast and A its budget (/budget/<output>). Where
// the branch d_ulp <= 1 does not hold, |a − r| <= |a − pre| + ½ulp <= ulp(r) + 2^-20·A.
//   fused epilogue: A = Σ_q w_q|v_q| (nope columns, indexer), so this is the spec's hard bound
//     or stricter; rope pairs: A = |cos|·A_0 + |sin|·A_1 + (2|x0·cos| + 2|x1·sin| + |y|)/16 (the
//     fp32 pooled inputs, two binary32 products and the add, ½..1 unit each).
//   model epilogue: three BF16 roundings (xb, n, the rope output) sit between the pooling and
//     the output. An implementation whose fp32 value lies on the other side of one of their
//     rounding boundaries is a whole BF16 step off there; that can only happen where the
//     reference's own value is within the implementation's error bound of a boundary. The
//     reference therefore carries, per element, an absolute bound B of the implementation's
//     value before each cast and adds a BF16 step ("flip") to the next stage's input error only
//     where [pre − B, pre + B] holds a BF16 boundary (spec §10.5's near-tie refinement):
//       pooled:   B_p = 2^-20·A + 2 ulp_f32 (the softmax_pool stage contract)
//       norm:     B_n = |w_j| r F_j + |n_j| r² Σ_k|x_k|F_k / C + 2·(C + 11)/2·2^-24·|n_j|
//                 (F = flips of xb; first-order change of r; rmsnorm.h's binary32 bound)
//       rope:     B_y = |cos|·G_0 + |sin|·G_1 + 2·2^-24·(|x0·cos| + |x1·sin| + |y|) (G = flips of n)
//       Hadamard: B_o = Σ_k |H_kj| H_k + 4·C_I·2^-24·Σ_k |x_k H_kj| (H = flips of its input)
//     and A = B·2^20. Away from boundaries the budget is the rounding noise alone, so the rule
//     stays hard: the spec's 0.1% ratio of unbounded elements is not needed. The stage checks
//     (KCS_STAGE_SUITE, spec §10.4 tier A) hold each stage to its own contract.
#include <cmath>
#include <string>

#include "decl/kernels.h"
#include "decl/params/dims.h"
#include "kcs/kernels/compressor.h"
#include "kcs/kernels/rmsnorm.h"

namespace kcs {

namespace {

std::string num(int64_t v) { return std::to_string(v); }

Status check_problem(const Problem& p) {
  const bool csa = p.attr("variant") == "csa";
  const bool model = p.attr("epilogue") == "model";
  const bool ext = p.attr("has_external_prev") == "true";
  int64_t v[kCmpDims];
  compressor_read_dims(p, v);
  const int64_t nb = v[kCmpNBlocks], N = v[kCmpN], M = v[kCmpM], C = v[kCmpC], CI = v[kCmpCI], NOPE = v[kCmpNope],
                ROPE = v[kCmpRope], G = v[kCmpG], MP = v[kCmpMP], P = v[kCmpP];
  const int64_t t0 = p.attr_i64("start_token"), pos0 = p.attr_i64("start_abs_pos");
  if (G != (csa ? 2 : 1))
    return Status::Fail("dimension G = " + num(G) + " (projection halves) must be " + (csa ? "2 for CSA" : "1 for HCA"));
  if (!csa && ext) return Status::Fail("has_external_prev=true: HCA windows have no previous block (docs/kernels/compressor.md)");
  if (MP != (ext ? M : 0))
    return Status::Fail("dimension MP = " + num(MP) + " (rows of prev_b) must be " +
                        (ext ? "M = " + num(M) + " with has_external_prev" : std::string("0 without has_external_prev")));
  if (!csa && CI != 0) return Status::Fail("dimension C_I = " + num(CI) + ": HCA has no indexer head (C_I must be 0)");
  if (csa && CI < 2) return Status::Fail("dimension C_I = " + num(CI) + ": the CSA indexer head needs C_I >= 2");
  if (CI > C)
    return Status::Fail("dimension C_I = " + num(CI) + " exceeds C = " + num(C) +
                        " (the source kernel drops those columns; docs/kernels/compressor.md)");
  if (NOPE % 2 != 0) return Status::Fail("dimension NOPE = " + num(NOPE) + " must be even (docs/kernels/compressor.md)");
  if (ROPE % 2 != 0) return Status::Fail("dimension ROPE = " + num(ROPE) + " must be even (docs/kernels/compressor.md)");
  if (NOPE + ROPE != C)
    return Status::Fail("dimensions NOPE + ROPE = " + num(NOPE + ROPE) + " must equal C = " + num(C) + " (docs/kernels/compressor.md)");
  if (csa && CI % 2 != 0) return Status::Fail("dimension C_I = " + num(CI) + " must be even (RoPE pairs)");
  if (csa && model && CI < ROPE)
    return Status::Fail("dimension C_I = " + num(CI) + " is smaller than ROPE = " + num(ROPE) +
                        ": the model epilogue rotates the indexer head's last ROPE columns (docs/kernels/compressor.md)");
  if (C > kNormMaxRow) return Status::Fail("dimension C = " + num(C) + " exceeds " + num(kNormMaxRow) + " (RMSNorm row)");
  if (t0 < 0) return Status::Fail("start_token = " + num(t0) + " must be >= 0");
  if (pos0 < 0) return Status::Fail("start_abs_pos = " + num(pos0) + " must be >= 0");
  if (N < t0 + nb * M)
    return Status::Fail("dimension N = " + num(N) + " (proj rows) < start_token + n_blocks·M = " + num(t0 + nb * M) +
                        " (docs/kernels/compressor.md)");
  if (model && pos0 % M != 0)
    return Status::Fail("start_abs_pos = " + num(pos0) + " is not a multiple of M = " + num(M) +
                        ": the model epilogue's block-start position needs aligned blocks (docs/kernels/compressor.md)");
  if (nb > 0) {
    CompressorParams cp;
    cp.model = model;
    cp.M = M;
    cp.start_abs_pos = pos0;
    const int64_t last = cp.rope_pos(nb - 1);
    if (last >= P)
      return Status::Fail("cos_sin_cache: the last block's RoPE position " + num(last) + " is outside the table (P = " +
                          num(P) + " rows)");
  }
  const double eps = p.attr_f64("eps");
  if (!(eps > 0) || !std::isfinite(eps)) return Status::Fail("eps = " + p.attr("eps") + " must be positive and finite");
  return Status::Ok();
}

KernelDecl make() {
  KernelDecl d;
  d.id = "compressor";
  d.title = "DeepSeek V4 CSA / HCA compressor: gated softmax pooling + RMSNorm + RoPE (+ Hadamard), BF16 out";
  d.spec = "docs/kernels/compressor.md";
  d.dims = {
      {"n_blocks", "compressed entries written (blocks of M tokens)", 0},
      {"N", "rows of the projection buffers (tokens)", 0},
      {"M", "compression ratio: tokens per block (CSA 4, HCA 128)", 1},
      {"C", "main head dim (512)", 2},
      {"C_I", "indexer head dim (CSA 128; HCA 0: no indexer)", 0},
      {"NOPE", "main head columns without RoPE (448); NOPE + ROPE = C", 0},
      {"ROPE", "rope dim (64), also the indexer head's rope columns", 2},
      {"G", "projection halves: 2 for CSA ([C|Z] of the current block, [C|Z] read by the next), 1 for HCA", 1},
      {"MP", "rows of prev_b: M with has_external_prev, else 0", 0},
      {"P", "rows (positions) of cos_sin_cache", 1},
  };
  d.attrs = {
      {"variant", AttrDecl::Kind::choice, "csa", {"csa", "hca"}, "CSA (overlapping windows of 2M) or HCA (windows of M)"},
      {"epilogue", AttrDecl::Kind::choice, "model", {"model", "fused"},
       "model: RMSNorm + RoPE at the block start (+ Hadamard for the indexer), docs/kernels/compressor.md; fused: the CuTe "
       "kernel boundary (no norm, block-end RoPE, no indexer RoPE)"},
      {"proj_dtype", AttrDecl::Kind::choice, "bfloat16", {"bfloat16", "float32"},
       "storage of proj / prev_b (BF16 or FP32, read as FP32)"},
      {"table_dtype", AttrDecl::Kind::choice, "float32", {"float32", "bfloat16"}, "storage of cos_sin_cache"},
      {"has_external_prev", AttrDecl::Kind::choice, "false", {"false", "true"},
       "CSA: block 0's previous half comes from prev_b (else: fresh first block, missing half = -inf / 0)"},
      {"eps", AttrDecl::Kind::real, "1e-6", {}, "RMSNorm eps (model epilogue)"},
      {"start_token", AttrDecl::Kind::integer, "0", {}, "start_token_in_proj: block i reads tokens start_token + iM + p"},
      {"start_abs_pos", AttrDecl::Kind::integer, "0", {}, "absolute position of token start_token (RoPE)"},
  };
  const Contract out = Contract::UlpOrBudget(1, 16, "");
  d.tensors = {
      dtype_from(input("proj", DType::bf16, {"N", "G", "C*2"}, "main projection [C | Z] per half"), "proj_dtype"),
      dtype_from(input("proj_indexer", DType::bf16, {"N", "G", "C_I*2"}, "indexer projection (CSA)"), "proj_dtype"),
      dtype_from(input("prev_b", DType::bf16, {"MP", "C*2"}, "[Cb_prev | Zb_prev] for block 0"), "proj_dtype"),
      dtype_from(input("prev_b_indexer", DType::bf16, {"MP", "C_I*2"}, "indexer [Cb_prev | Zb_prev]"), "proj_dtype"),
      input("ape", DType::fp32, {"G", "M", "C"}, "positional bias B_a (half 0), B_b (half 1)"),
      input("ape_indexer", DType::fp32, {"G", "M", "C_I"}, "indexer positional bias"),
      input("norm_w", DType::fp32, {"C"}, "RMSNorm weight (model epilogue)"),
      input("norm_w_indexer", DType::fp32, {"C_I"}, "indexer RMSNorm weight (model epilogue)"),
      input("hadamard", DType::bf16, {"C_I", "C_I"}, "indexer rotation matrix (model epilogue; realistic bf16(H/sqrt(C_I)))"),
      dtype_from(input("cos_sin_cache", DType::fp32, {"P", "ROPE"}, "cos in [0, ROPE/2), sin in [ROPE/2, ROPE)"),
                 "table_dtype"),
      output("kv_out", DType::bf16, {"n_blocks", "C"}, out, "compressed main KV entries"),
      output("indexer_out", DType::bf16, {"n_blocks", "C_I"}, out, "compressed indexer entries (CSA)"),
  };
  d.knobs = {
      {"cols_per_cta", "columns per pooling work strip (even; 0 = all); COLS_PER_CTA of docs/kernels/compressor.md", 128, true, 0, kKnobMax, 2},
      {"block_tile", "blocks per work item (0 = all)", 16, true},
  };
  d.check_problem = &check_problem;
  return d;
}

}  // namespace

const KernelDecl& compressor_decl() {
  static const KernelDecl d = make();
  return d;
}

}  // namespace kcs
