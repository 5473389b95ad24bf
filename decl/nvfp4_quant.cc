// Declaration of the NVFP4 quantizer (spec §6.3, the K4 staging kernel's coder) as a stand-alone
// kernel. Every output is bit-exact (spec §10.2, §10.5): the pipeline is a fixed sequence of
// binary32 and integer operations with one exact reduction (the group amax).
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "decl/kernels.h"
#include "decl/nvfp4_invariants.h"
#include "kcs/formats.h"
#include "kcs/kernels/nvfp4_quant.h"

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
  const int64_t words = sf.row_len();
  const uint32_t w = static_cast<uint32_t>(sf.data<int32_t>()[r * words + g / 4]);
  return static_cast<uint8_t>(w >> (8 * (g % 4)));
}

CheckResult scale_bytes_unsigned(const Problem&, const TensorMap&, const TensorMap& out) {
  return nvfp4_scale_bytes_unsigned(out.at("x_sf"), "row");
}

CheckResult codes_match_own_scales(const Problem& p, const TensorMap& in, const TensorMap& out) {
  return nvfp4_codes_match_own_scales(in.at("x"), out.at("x_fp4"), out.at("x_sf"),
                                      p.attr("e2m1_ties") == "even" ? E2m1Ties::even : E2m1Ties::away, "row",
                                      "x_fp4 == E2M1 coding of x with the decoded x_sf it wrote");
}

Status check_problem(const Problem& p) {
  const int64_t k = p.dim("K");
  if (k % kNvfp4Block != 0)
    return Status::Fail("K = " + std::to_string(k) + " is not a multiple of 128 (docs/kernels/nvfp4_quant.md: the staging " +
                        "kernel quantizes whole 128-element blocks)");
  return Status::Ok();
}

KernelDecl make() {
  KernelDecl d;
  d.id = "nvfp4_quant";
  d.title = "NVFP4 quantizer: E2M1 codes (nibble-packed) + UE4M3 scales per 16 elements";
  d.spec = "docs/kernels/nvfp4_quant.md";
  d.dims = {{"M", "tokens (rows)", 0}, {"K", "hidden size, a positive multiple of 128", 1}};
  d.attrs = {
      {"x_dtype", AttrDecl::Kind::choice, "bfloat16", {"bfloat16", "float16", "float32"},
       "input storage (widened exactly to binary32)"},
      {"e2m1_ties", AttrDecl::Kind::choice, "away", {"away", "even"},
       "E2M1 tie rounding: away = staging thresholds (docs/kernels/nvfp4_quant.md), even = nearest-even (torchao, PTX cvt.rn)"},
      {"saturate_scale", AttrDecl::Kind::choice, "0", {"0", "1"},
       "1: clamp the fp32 scale to 448 before the encode (no 0x7F / exponent-clamp overflow, docs/kernels/nvfp4_quant.md)"},
  };
  d.tensors = {
      dtype_from(input("x", DType::bf16, {"M", "K"}, "hidden states"), "x_dtype"),
      quant_from(output("x_fp4", DType::e2m1x2, {"M", "K/2"}, Contract::Exact(),
                        "E2M1 codes, byte j = code(2j) | code(2j+1) << 4"),
                 {"x", "16", "", false}),
      quant_from(output("x_sf", DType::ue4m3x4, {"M", "K/64"}, Contract::Exact(),
                        "UE4M3 scale bytes of the 16-element groups, 4 per int32, little-endian"),
                 {"x", "16", "", true}),
  };
  d.knobs = {
      {"row_tile", "rows per work item (0 = all rows in one item)", 16, true},
      {"block_k", "elements of K per work item: a multiple of 128, or 0 = the whole row", 0, true, 0, kKnobMax, 128},
  };
  d.invariants = {
      {"scale_bytes_unsigned", "bit 7 of every UE4M3 scale byte is 0", &scale_bytes_unsigned},
      {"codes_match_own_scales", "codes equal the coding of x with the scales the call wrote", &codes_match_own_scales},
  };
  d.check_problem = &check_problem;
  return d;
}

}  // namespace

// UE4M3: bit 7 of every scale byte is 0 (spec §6.3 step 3). The exact contract alone would not
// see 0xFF where 0x7F is expected: both are the E4M3 NaN pattern, and NaN matches NaN.
CheckResult nvfp4_scale_bytes_unsigned(const Tensor& sf, const std::string& row_word) {
  const int64_t rows = sf.rows(), groups = sf.row_len() * 4;
  int64_t bad = 0;
  std::string first;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t g = 0; g < groups; ++g)
      if ((scale_byte(sf, r, g) & 0x80u) != 0 && bad++ == 0)
        first = row_word + " " + std::to_string(r) + " group " + std::to_string(g);
  return invariant_result("scale_bytes_unsigned", "bit 7 of every UE4M3 scale byte is 0", bad, rows * groups, first);
}

// The codes are the staging coding of x against the implementation's OWN scale bytes (steps 4-7
// from its x_sf). When x_sf differs from the reference this tells whether the codes are still
// consistent with it (a scale-only bug) or wrong on their own.
CheckResult nvfp4_codes_match_own_scales(const Tensor& x, const Tensor& fp4, const Tensor& sf, E2m1Ties ties,
                                         const std::string& row_word, const std::string& rule) {
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
          first = row_word + " " + std::to_string(r) + " element " + std::to_string(j) + ": code 0x" +
                  "0123456789abcdef"[got] + ", its own scale byte gives 0x" + "0123456789abcdef"[want];
      }
    }
  }
  return invariant_result("codes_match_own_scales", rule, bad, rows * k, first);
}


const KernelDecl& nvfp4_quant_decl() {
  static const KernelDecl d = make();
  return d;
}

}  // namespace kcs
