// Declaration of the Q8 quantizer (spec §1.1) as a stand-alone kernel.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "decl/kernels.h"
#include "kcs/formats.h"
#include "kcs/kernels/q8.h"

namespace kcs {

namespace {

std::vector<float> row_f32(const Tensor& x, int64_t r) {
  const int64_t n = x.row_len();
  std::vector<float> v(static_cast<size_t>(n));
  for (int64_t j = 0; j < n; ++j) {
    const size_t k = static_cast<size_t>(r * n + j);
    v[static_cast<size_t>(j)] = x.dtype() == DType::bf16 ? bf16_to_float(x.data<uint16_t>()[k]) : x.data<float>()[k];
  }
  return v;
}

CheckResult invariant_result(const std::string& name, const std::string& rule, int64_t bad, int64_t rows,
                             const std::string& first) {
  CheckResult c;
  c.name = "invariant:" + name;
  c.contract = rule;
  c.passed = bad == 0;
  c.metrics.numel = rows;
  c.metrics.mismatches = bad;
  c.metrics.mismatch_ratio = rows ? static_cast<double>(bad) / static_cast<double>(rows) : 0;
  c.margin = bad == 0 ? 0 : INFINITY;
  if (bad) c.message = std::to_string(bad) + " of " + std::to_string(rows) + " rows violate it; first: " + first;
  return c;
}

// Every row whose (floored) amax is positive and finite holds a code of magnitude 127.
CheckResult row_has_127(const Problem& p, const TensorMap& in, const TensorMap& out) {
  const Tensor& x = in.at("x");
  const Tensor& codes = out.at("codes");
  const bool floor = p.attr("amax_floor") == "1e-4";
  int64_t bad = 0;
  std::string first;
  for (int64_t r = 0; r < x.rows(); ++r) {
    std::vector<float> v = row_f32(x, r);
    const float a = q8_amax(v.data(), x.row_len());
    if (!(std::isfinite(a) && a > 0)) continue;
    // With the floor, rows below it are scaled by 127/1e-4 and need not reach 127.
    if (floor && a < kQ8Floor) continue;
    bool has = false;
    for (int64_t j = 0; j < x.row_len(); ++j) {
      const int8_t c = codes.data<int8_t>()[r * x.row_len() + j];
      has |= c == 127 || c == -127;
    }
    if (!has && bad++ == 0) first = "row " + std::to_string(r) + " (amax " + std::to_string(a) + ")";
  }
  return invariant_result("row_has_127", "every row with a nonzero finite amax holds a +-127 code", bad, x.rows(),
                          first);
}

// s = cast(1 / (127 / amax)) with the implementation's own amax, which for a stand-alone Q8 is
// the input's.
CheckResult scale_self_consistent(const Problem& p, const TensorMap& in, const TensorMap& out) {
  const Tensor& x = in.at("x");
  const Tensor& scale = out.at("scale");
  const bool floor = p.attr("amax_floor") == "1e-4";
  int64_t bad = 0;
  std::string first;
  for (int64_t r = 0; r < x.rows(); ++r) {
    std::vector<float> v = row_f32(x, r);
    float a = q8_amax(v.data(), x.row_len());
    if (!std::isfinite(a)) continue;
    if (floor && a < kQ8Floor) a = kQ8Floor;
    const float s = a == 0 ? 0.0f : 1.0f / (127.0f / a);
    bool ok;
    if (scale.dtype() == DType::fp16)
      ok = scale.data<uint16_t>()[r] == fp16_from_float(s);
    else
      ok = f32_bits(scale.data<float>()[r]) == f32_bits(s);
    if (!ok && bad++ == 0) first = "row " + std::to_string(r);
  }
  return invariant_result("scale_self_consistent", "scale == cast(1/(127/amax)) of the row's own amax", bad,
                          x.rows(), first);
}

// amax of a row straight from the stored bits (no widening copy: this runs on every call).
float row_amax(const Tensor& x, int64_t r) {
  const int64_t n = x.row_len();
  if (x.dtype() == DType::bf16) {
    const uint16_t* v = x.data<uint16_t>() + r * n;
    uint16_t best = 0;
    for (int64_t j = 0; j < n; ++j) best = std::max<uint16_t>(best, v[j] & 0x7FFF);
    return bf16_to_float(best);
  }
  return q8_amax(x.data<float>() + r * n, n);
}

Status check_inputs(const Problem& p, const TensorMap& t) {
  if (p.attr("amax_floor") == "1e-4") return Status::Ok();
  const Tensor& x = t.at("x");
  for (int64_t r = 0; r < x.rows(); ++r) {
    const float a = row_amax(x, r);
    if (a > 0 && a < kQ8MinAmax)
      return Status::Fail("x row " + std::to_string(r) + " has amax " + std::to_string(a) +
                          " below 127*2^-126 without an amax floor: its dequant scale would be subnormal "
                          "(out of contract, docs/kernels/q8.md)");
  }
  return Status::Ok();
}

KernelDecl make() {
  KernelDecl d;
  d.id = "q8";
  d.title = "Q8 symmetric per-row INT8 dynamic quantizer";
  d.spec = "docs/kernels/q8.md";
  d.dims = {{"rows", "number of rows", 0}, {"n", "row length", 1}};
  d.attrs = {
      {"round_mode", AttrDecl::Kind::choice, "rint", {"rint", "rhaz"}, "FP32->INT32 rounding (rint = ties to even)"},
      {"amax_floor", AttrDecl::Kind::choice, "none", {"none", "1e-4"}, "amax floor (V4 kernels use 1e-4)"},
      {"x_dtype", AttrDecl::Kind::choice, "bfloat16", {"bfloat16", "float32"}, "input storage"},
      {"scale_dtype", AttrDecl::Kind::choice, "float32", {"float16", "float32"}, "dequant scale storage (K1: fp16)"},
  };
  d.tensors = {
      dtype_from(input("x", DType::bf16, {"rows", "n"}, "rows to quantize"), "x_dtype"),
      quant_from(output("codes", DType::i8, {"rows", "n"}, Contract::Exact(), "INT8 codes"), {"x", "", "", false}),
      quant_from(dtype_from(output("scale", DType::fp32, {"rows", "1"}, Contract::Exact(), "dequant scale 1/(127/amax)"),
                            "scale_dtype"),
                 {"x", "", "", true}),
  };
  d.knobs = {{"row_tile", "rows per work item (0 = all rows in one item)", 16, true}};
  d.invariants = {
      {"row_has_127", "every row with a nonzero amax holds a +-127 code", &row_has_127},
      {"scale_self_consistent", "scale equals 1/(127/amax) of the row", &scale_self_consistent},
  };
  d.check_inputs = &check_inputs;
  return d;
}

}  // namespace

const KernelDecl& q8_decl() {
  static const KernelDecl d = make();
  return d;
}

}  // namespace kcs
