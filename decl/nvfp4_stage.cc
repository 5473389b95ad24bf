// Declaration of K4, the NVFP4 MoE input staging kernel (spec §6). Every output is bit-exact in
// every mode (spec §10.2, §10.5): the quantizer is a fixed sequence of binary32 and integer
// operations with one exact reduction (the group amax), the top-k outputs are copies.
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "decl/kernels.h"
#include "decl/nvfp4_invariants.h"
#include "kcs/formats.h"
#include "kcs/kernels/nvfp4_stage.h"

namespace kcs {

namespace {

CheckResult scale_bytes_unsigned(const Problem&, const TensorMap&, const TensorMap& out) {
  return nvfp4_scale_bytes_unsigned(out.at("x_sf"), "token");
}

CheckResult codes_match_own_scales(const Problem& p, const TensorMap& in, const TensorMap& out) {
  return nvfp4_codes_match_own_scales(in.at("hidden_states"), out.at("x_fp4"), out.at("x_sf"),
                                      p.attr("e2m1_ties") == "even" ? E2m1Ties::even : E2m1Ties::away, "token",
                                      "x_fp4 == E2M1 coding of hidden_states with the decoded x_sf");
}

// Spec §6.2 preconditions. M = 0 is valid (a no-op); topk_weights.shape != topk_ids.shape cannot
// pass validate_call (both are declared [M, top_k]), which names the tensor and both shapes.
Status check_problem(const Problem& p) {
  const int64_t k = p.dim("K");
  if (k % kNvfp4Block != 0)
    return Status::Fail("K = " + std::to_string(k) + " is not a multiple of 128 (docs/kernels/nvfp4_stage.md: the staging " +
                        "kernel quantizes whole 128-element blocks)");
  return Status::Ok();
}

KernelDecl make() {
  KernelDecl d;
  d.id = "nvfp4_stage";
  d.title = "K4 NVFP4 MoE input staging: E2M1 codes + UE4M3 block-16 scales, top-k ids/weights copied";
  d.spec = "docs/kernels/nvfp4_stage.md";
  d.dims = {{"M", "tokens", 0}, {"K", "hidden size, a positive multiple of 128", 1}, {"top_k", "routed experts", 1}};
  d.attrs = {
      {"x_dtype", AttrDecl::Kind::choice, "bfloat16", {"bfloat16", "float16", "float32"},
       "hidden_states storage (widened exactly to binary32)"},
      {"ids_dtype", AttrDecl::Kind::choice, "int32", {"int32", "int64"}, "topk_ids storage (widened to int64)"},
      {"e2m1_ties", AttrDecl::Kind::choice, "away", {"away", "even"},
       "E2M1 tie rounding: away = staging thresholds (docs/kernels/nvfp4_stage.md), even = nearest-even (torchao, PTX cvt.rn)"},
      {"saturate_scale", AttrDecl::Kind::choice, "0", {"0", "1"},
       "1: clamp the fp32 scale to 448 before the encode (no 0x7F / exponent-clamp overflow, docs/kernels/nvfp4_stage.md)"},
  };
  d.tensors = {
      dtype_from(input("hidden_states", DType::bf16, {"M", "K"}, "token hidden states"), "x_dtype"),
      dtype_from(input("topk_ids", DType::i32, {"M", "top_k"}, "router expert ids"), "ids_dtype"),
      input("topk_weights", DType::fp32, {"M", "top_k"}, "router weights"),
      quant_from(output("x_fp4", DType::e2m1x2, {"M", "K/2"}, Contract::Exact(),
                        "E2M1 codes, byte j = code(2j) | code(2j+1) << 4"),
                 {"hidden_states", "16", "", false}),
      quant_from(output("x_sf", DType::ue4m3x4, {"M", "K/64"}, Contract::Exact(),
                        "UE4M3 scale bytes of the 16-element groups, 4 per int32, little-endian"),
                 {"hidden_states", "16", "", true}),
      output("topk_idx_out", DType::i64, {"M", "top_k"}, Contract::Exact(), "topk_ids sign-extended to int64"),
      output("topk_weights_out", DType::fp32, {"M", "top_k"}, Contract::Exact(), "topk_weights copied"),
  };
  d.knobs = {
      {"row_tile", "tokens per work item (0 = all tokens in one item)", 16, true},
      {"block_k", "elements of K per work item (BLOCK_K): a multiple of 128, or 0 = the whole row", 0, true, 0, kKnobMax, 128},
  };
  d.invariants = {
      {"scale_bytes_unsigned", "bit 7 of every UE4M3 scale byte is 0", &scale_bytes_unsigned},
      {"codes_match_own_scales", "codes equal the coding of hidden_states with the scales the call wrote",
       &codes_match_own_scales},
  };
  d.check_problem = &check_problem;
  return d;
}

}  // namespace

const KernelDecl& nvfp4_stage_decl() {
  static const KernelDecl d = make();
  return d;
}

}  // namespace kcs
