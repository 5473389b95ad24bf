// Declaration of the INT8 GEMM + dequant primitive (spec §1.2) as a stand-alone kernel.
#include "kcs/kernels/gemm_i8.h"

#include <string>

#include "decl/kernels.h"

namespace kcs {

namespace {

Status check_problem(const Problem& p) {
  // int32 accumulators are exact only while K · 128 · 128 < 2^31 (spec §1.2).
  if (p.dim("k") > kGemmI8MaxK)
    return Status::Fail("dimension k = " + std::to_string(p.dim("k")) + " is above " + std::to_string(kGemmI8MaxK) +
                        ": the int32 accumulators of acc could overflow (docs/kernels/gemm_i8.md: K < 131072)");
  return Status::Ok();
}

KernelDecl make() {
  KernelDecl d;
  d.id = "gemm_i8";
  d.title = "INT8 x INT8 -> INT32 GEMM + per-row / per-column dequant";
  d.spec = "docs/kernels/gemm_i8.md";
  // m = 0 is a no-op; k = 0 or n = 0 would be an empty reduction / empty output: rejected.
  d.dims = {{"m", "rows of a (tokens)", 0}, {"k", "reduction length", 1}, {"n", "columns of w", 1}};
  d.attrs = {
      {"out_dtype",
       AttrDecl::Kind::choice,
       "float32",
       {"float32", "bfloat16"},
       "storage of y (K1 / K2 cast the dequantized value to BF16; K3 keeps FP32)"},
  };
  d.tensors = {
      input("a", DType::i8, {"m", "k"}, "activations, row-major"),
      as_weight(input("w", DType::i8, {"k", "n"}, "weights, row-major ND (docs/kernels/gemm_i8.md)")),
      input("s_row", DType::fp32, {"m", "1"}, "per-row activation scale"),
      as_weight(input("s_col", DType::fp32, {"n", "1"}, "per-column weight scale")),
      output("acc", DType::i32, {"m", "n"}, Contract::Exact(), "int32 accumulators (exact)"),
      dtype_from(output("y", DType::fp32, {"m", "n"}, Contract::Exact(),
                        "(f32(acc) * s_row) * s_col in binary32, then stored as out_dtype"),
                 "out_dtype"),
  };
  // Rows and columns are independent and integer sums are exact, so no knob can change a bit.
  d.knobs = {
      {"m_tile", "rows per work item (0 = all rows in one item)", 64, true},
      // Wide by default: on the direct (row-major W) path a work item reads each weight row in
      // runs of n_tile bytes, and short runs at a stride of N bytes stream poorly from DRAM.
      {"n_tile", "columns per work item (0 = all columns in one item)", 4096, true},
      {"k_block", "K elements per accumulation pass (0 = the engine's default); integer sums are exact", 0, true},
  };
  d.check_problem = &check_problem;
  return d;
}

}  // namespace

const KernelDecl& gemm_i8_decl() {
  static const KernelDecl d = make();
  return d;
}

}  // namespace kcs
