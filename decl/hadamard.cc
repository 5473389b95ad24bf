// Declaration of the dense Hadamard product (spec §1.5): y = bf16(x · M), M an opaque BF16 input.
#include "decl/kernels.h"

namespace kcs {

namespace {

KernelDecl make() {
  KernelDecl d;
  d.id = "hadamard";
  d.title = "Hadamard rotation as a dense BF16 GEMM, y = bf16(x · M), fp32 accumulation";
  d.spec = "docs/kernels/hadamard.md";
  d.dims = {{"T", "rows (tokens x heads)", 0}, {"D", "head dim (the matrix is D x D)", 1}};
  d.tensors = {
      input("x", DType::bf16, {"T", "D"}, "activations"),
      input("hadamard", DType::bf16, {"D", "D"}, "the matrix, opaque (realistic: bf16(H_D / sqrt(D)))"),
      output("y", DType::bf16, {"T", "D"}, Contract::UlpOrBudget(1, 2, "D"),
             "bf16(x · M): single-GEMM rule of docs/kernels/gemm_bf16.md with K = D"),
  };
  d.knobs = {
      {"m_tile", "rows per work item (0 = all, -1 = auto: 128)", -1, true, -1},
      {"n_tile", "columns per work item (0 = all, -1 = auto)", -1, true, -1},
      {"k_block", "K per summation block (0 = one fp32 chain; odd values round up)", 0, false},
  };
  return d;
}

}  // namespace

const KernelDecl& hadamard_decl() {
  static const KernelDecl d = make();
  return d;
}

}  // namespace kcs
