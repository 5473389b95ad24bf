// Declaration of K4, the NVFP4 MoE input staging kernel (spec §6). Every output is bit-exact in
// every mode (spec §10.2, §10.5): the quantizer is a fixed sequence of binary32 and integer
// operations with one exact reduction (the group amax), the top-k outputs are copies.
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "decl/kernels.h"
#include "kcs/formats.h"
#include "kcs/kernels/nvfp4_stage.h"

namespace kcs {

namespace {

CheckResult invariant_result(const std::string& name, const std::string& rule, int64_t bad, int64_t numel,
                             const std::string& first) {
  CheckResult c;
  c.name = "invariant:" + name;
  c.contract = rule;
  c.passed = bad == 0;
  c.metrics.numel = numel;
  c.metrics.mismatches = bad;
  c.metrics.mismatch_ratio = numel ? static_cast<double>(bad) / static_cast<double>(numel) : 0;
  c.margin = bad == 0 ? 0 : INFINITY;
  if (bad) c.message = std::to_string(bad) + " of " + std::to_string(numel) + " violate it; first: " + first;
  return c;
}

uint8_t scale_byte(const Tensor& sf, int64_t r, int64_t g) {
  const uint32_t w = static_cast<uint32_t>(sf.data<int32_t>()[r * sf.row_len() + g / 4]);
  return static_cast<uint8_t>(w >> (8 * (g % 4)));
}

// UE4M3: bit 7 of every scale byte is 0 (spec §6.3 step 3). The exact contract compares bits and
// catches it too; this names the broken rule.
CheckResult scale_bytes_unsigned(const Problem&, const TensorMap&, const TensorMap& out) {
  const Tensor& sf = out.at("x_sf");
  const int64_t rows = sf.rows(), groups = sf.row_len() * 4;
  int64_t bad = 0;
  std::string first;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t g = 0; g < groups; ++g)
      if ((scale_byte(sf, r, g) & 0x80u) != 0 && bad++ == 0)
        first = "token " + std::to_string(r) + " group " + std::to_string(g);
  return invariant_result("scale_bytes_unsigned", "bit 7 of every UE4M3 scale byte is 0", bad, rows * groups, first);
}

// The codes are the staging coding of hidden_states against the implementation's OWN scale bytes
// (steps 4-7 from its x_sf): when x_sf differs from the reference this tells a scale-only bug
// from codes that are wrong on their own.
CheckResult codes_match_own_scales(const Problem& p, const TensorMap& in, const TensorMap& out) {
  const Tensor& x = in.at("hidden_states");
  const Tensor& fp4 = out.at("x_fp4");
  const Tensor& sf = out.at("x_sf");
  const E2m1Ties ties = p.attr("e2m1_ties") == "even" ? E2m1Ties::even : E2m1Ties::away;
  const int64_t rows = x.rows(), k = x.row_len();
  std::vector<float> v(static_cast<size_t>(k));
  int64_t bad = 0;
  std::string first;
  for (int64_t r = 0; r < rows; ++r) {
    nvfp4_widen(static_cast<const char*>(x.raw()) + r * k * static_cast<int64_t>(dtype_size(x.dtype())), x.dtype(),
                k, v.data());
    for (int64_t g = 0; g < k / kNvfp4Group; ++g) {
      const float inv = nvfp4_inv_scale(nvfp4_e4m3_decode(scale_byte(sf, r, g)));
      for (int64_t j = g * kNvfp4Group; j < (g + 1) * kNvfp4Group; ++j) {
        const uint8_t byte = fp4.data<uint8_t>()[r * (k / 2) + j / 2];
        const uint8_t got = static_cast<uint8_t>((j % 2) ? byte >> 4 : byte & 0xFu);
        const uint8_t want = nvfp4_e2m1_code(v[static_cast<size_t>(j)] * inv, ties);
        if (got != want && bad++ == 0)
          first = "token " + std::to_string(r) + " element " + std::to_string(j) + ": code 0x" +
                  "0123456789abcdef"[got] + ", its own scale byte gives 0x" + "0123456789abcdef"[want];
      }
    }
  }
  return invariant_result("codes_match_own_scales", "x_fp4 == E2M1 coding of hidden_states with the decoded x_sf",
                          bad, rows * k, first);
}

// Spec §6.2 preconditions. M = 0 is valid (a no-op); topk_weights.shape != topk_ids.shape cannot
// pass validate_call (both are declared [M, top_k]), which names the tensor and both shapes.
Status check_problem(const Problem& p) {
  const int64_t k = p.dim("K");
  if (k % kNvfp4Block != 0)
    return Status::Fail("K = " + std::to_string(k) + " is not a multiple of 128 (spec §6.2 / §9: the staging " +
                        "kernel quantizes whole 128-element blocks)");
  return Status::Ok();
}

KernelDecl make() {
  KernelDecl d;
  d.id = "nvfp4_stage";
  d.title = "K4 NVFP4 MoE input staging: E2M1 codes + UE4M3 block-16 scales, top-k ids/weights copied";
  d.spec = "§6";
  d.dims = {{"M", "tokens", 0}, {"K", "hidden size, a positive multiple of 128", 1}, {"top_k", "routed experts", 1}};
  d.attrs = {
      {"x_dtype", AttrDecl::Kind::choice, "bfloat16", {"bfloat16", "float16", "float32"},
       "hidden_states storage (widened exactly to binary32)"},
      {"ids_dtype", AttrDecl::Kind::choice, "int32", {"int32", "int64"}, "topk_ids storage (widened to int64)"},
      {"e2m1_ties", AttrDecl::Kind::choice, "away", {"away", "even"},
       "E2M1 tie rounding: away = staging thresholds (spec §6.3), even = nearest-even (torchao, PTX cvt.rn)"},
      {"saturate_scale", AttrDecl::Kind::choice, "0", {"0", "1"},
       "1: clamp the fp32 scale to 448 before the encode (no 0x7F / exponent-clamp overflow, spec §12 D13)"},
  };
  d.tensors = {
      dtype_from(input("hidden_states", DType::bf16, {"M", "K"}, "token hidden states"), "x_dtype"),
      dtype_from(input("topk_ids", DType::i32, {"M", "top_k"}, "router expert ids"), "ids_dtype"),
      input("topk_weights", DType::fp32, {"M", "top_k"}, "router weights"),
      output("x_fp4", DType::e2m1x2, {"M", "K/2"}, Contract::Exact(),
             "E2M1 codes, byte j = code(2j) | code(2j+1) << 4"),
      output("x_sf", DType::ue4m3x4, {"M", "K/64"}, Contract::Exact(),
             "UE4M3 scale bytes of the 16-element groups, 4 per int32, little-endian"),
      output("topk_idx_out", DType::i64, {"M", "top_k"}, Contract::Exact(), "topk_ids sign-extended to int64"),
      output("topk_weights_out", DType::fp32, {"M", "top_k"}, Contract::Exact(), "topk_weights copied"),
  };
  d.knobs = {
      {"row_tile", "tokens per work item (0 = all tokens in one item)", 16, true},
      {"block_k", "elements of K per work item (BLOCK_K): a multiple of 128, or 0 = the whole row", 0, true},
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
