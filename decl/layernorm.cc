// Declaration of LayerNorm, K1 form (spec §1.4), as a stand-alone kernel: FP32 rows in (K1 feeds
// the fp32 GEMM output kf), BF16 γ and β, BF16 out. The contract and its derivation are in
// include/kcs/kernels/layernorm.h.
#include <cmath>
#include <string>

#include "decl/kernels.h"
#include "kcs/kernels/layernorm.h"
#include "kcs/kernels/rmsnorm.h"

namespace kcs {

namespace {

Status check_problem(const Problem& p) {
  const double eps = p.attr_f64("eps");
  if (!(eps > 0) || !std::isfinite(eps))
    return Status::Fail("eps = " + p.attr("eps") + " must be a positive finite number (a constant row divides by sqrt(eps))");
  if (p.dim("n") > kNormMaxRow)
    return Status::Fail("dimension n = " + std::to_string(p.dim("n")) + " exceeds " + std::to_string(kNormMaxRow) +
                        ", the longest row the error budget is derived for");
  return Status::Ok();
}

KernelDecl make() {
  KernelDecl d;
  d.id = "layernorm";
  d.title = "LayerNorm (K1 quant_layer_norm): FP32 rows, BF16 gamma/beta, BF16 out";
  d.spec = "docs/kernels/layernorm.md";
  d.dims = {{"rows", "number of rows (tokens)", 0}, {"n", "row length (K1: head_dim 128)", 1}};
  d.attrs = {
      {"eps", AttrDecl::Kind::real, "1e-6", {}, "added to the variance (K1 tests and the model: 1e-6)"},
  };
  d.tensors = {
      input("x", DType::fp32, {"rows", "n"}, "rows to normalise (K1: kf, the fp32 x*wk GEMM output)"),
      as_weight(input("gamma", DType::bf16, {"n"}, "scale")),
      as_weight(input("beta", DType::bf16, {"n"}, "shift")),
      // Derivation of the budget and of c = 2.0625 in include/kcs/kernels/layernorm.h: the mean's
      // absolute error and the final + beta make max_ulp(1) unprovable for small outputs.
      output("y", DType::bf16, {"rows", "n"}, Contract::UlpOrBudget(1, 2.0625, ""), "normalised rows, BF16"),
  };
  d.knobs = {{"row_tile", "rows per work item (0 = all rows in one item)", 16, true}};
  d.check_problem = &check_problem;
  return d;
}

}  // namespace

const KernelDecl& layernorm_decl() {
  static const KernelDecl d = make();
  return d;
}

}  // namespace kcs
