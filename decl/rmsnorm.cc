// Declaration of RMSNorm (spec §1.4) as a stand-alone kernel: the pypto form (K2 rms_norm, BF16 γ)
// and the V4 compressor form (official RMSNorm, FP32 w). The contract and its derivation are in
// include/kcs/kernels/rmsnorm.h.
#include <cmath>
#include <string>

#include "decl/kernels.h"
#include "kcs/kernels/rmsnorm.h"

namespace kcs {

namespace {

Status check_problem(const Problem& p) {
  RmsNormForm form;
  if (!parse_rmsnorm_form(p.attr("form"), &form)) return Status::Fail("unknown form '" + p.attr("form") + "'");
  // γ's storage follows the form: BF16 γ in the pypto kernel (K2), FP32 w in the V4 model.
  const std::string want = form == RmsNormForm::pypto ? "bfloat16" : "float32";
  if (p.attr("gamma_dtype") != want)
    return Status::Fail("gamma: form=" + p.attr("form") + " takes a " + want + " gamma (gamma_dtype=" + want +
                        "), got gamma_dtype=" + p.attr("gamma_dtype"));
  const double eps = p.attr_f64("eps");
  if (!(eps > 0) || !std::isfinite(eps))
    return Status::Fail("eps = " + p.attr("eps") + " must be a positive finite number (the zero row divides by sqrt(eps))");
  if (p.dim("n") > kNormMaxRow)
    return Status::Fail("dimension n = " + std::to_string(p.dim("n")) + " exceeds " + std::to_string(kNormMaxRow) +
                        ", the longest row the max_ulp(1) contract is derived for");
  return Status::Ok();
}

KernelDecl make() {
  KernelDecl d;
  d.id = "rmsnorm";
  d.title = "RMSNorm (pypto K2 form and V4 compressor form), BF16 in and out";
  d.spec = "docs/kernels/rmsnorm.md";
  d.dims = {{"rows", "number of rows (tokens)", 0}, {"n", "row length (normalised dimension)", 1}};
  d.attrs = {
      {"form", AttrDecl::Kind::choice, "pypto", {"pypto", "v4"},
       "pypto: K2 rms_norm (BF16 gamma, ms = sum((x*x)*(1/n))); v4: official V4 RMSNorm (FP32 weight, mean(x^2))"},
      {"eps", AttrDecl::Kind::real, "1e-6", {}, "added to the mean square (K2 tests 1e-5, model config 1e-6)"},
      {"gamma_dtype", AttrDecl::Kind::choice, "bfloat16", {"bfloat16", "float32"},
       "storage of gamma: must be bfloat16 for form=pypto and float32 for form=v4"},
  };
  d.tensors = {
      input("x", DType::bf16, {"rows", "n"}, "rows to normalise (BF16, widened to fp32)"),
      dtype_from(as_weight(input("gamma", DType::bf16, {"n"}, "per-channel scale (gamma / w)")), "gamma_dtype"),
      // max_ulp(1) is proven for n <= 65536 in include/kcs/kernels/rmsnorm.h.
      output("y", DType::bf16, {"rows", "n"}, Contract::MaxUlp(1), "normalised rows, BF16"),
  };
  d.knobs = {{"row_tile", "rows per work item (0 = all rows in one item)", 16, true}};
  d.check_problem = &check_problem;
  return d;
}

}  // namespace

const KernelDecl& rmsnorm_decl() {
  static const KernelDecl d = make();
  return d;
}

}  // namespace kcs
