// Declaration of the BF16 GEMM (spec §0.3 "fp32-acc GEMM", §10.3, §10.4, §13 "BF16 GEMMs").
#include "decl/kernels.h"

namespace kcs {

namespace {

KernelDecl make() {
  KernelDecl d;
  d.id = "gemm_bf16";
  d.title = "BF16 x BF16 GEMM, fp32 accumulation, fp32 / BF16 / FP16 output (batched)";
  d.spec = "docs/kernels/gemm_bf16.md";
  d.dims = {{"B", "batch of independent GEMMs (1 for a plain GEMM; heads for K2's w_uk)", 1},
            {"M", "rows of A (tokens)", 0},
            {"K", "reduction length", 1},
            {"N", "columns of W", 1}};
  d.attrs = {{"out_dtype", AttrDecl::Kind::choice, "bfloat16", {"float32", "bfloat16", "float16"},
              "y storage: the fp32 accumulator itself, or its BF16 / FP16 rounding (nearest even)"}};
  d.tensors = {
      input("a", DType::bf16, {"B", "M", "K"}, "activations, row-major"),
      as_weight(input("w", DType::bf16, {"B", "K", "N"}, "weights, row-major ND (docs/kernels/gemm_bf16.md)")),
      dtype_from(output("y", DType::bf16, {"B", "M", "N"}, Contract::UlpOrBudget(1, 2, "K"),
                        "cast(a · w): single-GEMM rule of docs/kernels/gemm_bf16.md (d_ulp <= 1 or within 1/2 ulp + 2K 2^-24 A)"),
                 "out_dtype"),
  };
  d.knobs = {
      {"m_tile", "rows per work item (0 = all, -1 = auto: 128)", -1, true, -1},
      {"n_tile", "columns per work item (0 = all, -1 = auto: all, or split for idle threads)", -1, true, -1},
      {"k_block", "K per summation block (0 = one fp32 chain over all of K; odd values round up)", 0, false},
  };
  return d;
}

}  // namespace

const KernelDecl& gemm_bf16_decl() {
  static const KernelDecl d = make();
  return d;
}

}  // namespace kcs
