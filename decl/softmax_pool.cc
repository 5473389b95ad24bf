// Declaration of the gated softmax pooling reduction of K5 (spec §7.4) as a stand-alone kernel.
//
// Contract of `pooled` (fp32): spec §10.5's K5 rule, hard |Δ| <= 2·ulp(r) + 2^-20·Σ_q w_q|v_q|,
// expressed as UlpOrBudget(2, 16): an element passes if d_ulp <= 2 (fp32 ulps) or
// |a - pre| <= ½ulp(pre) + 16·2^-24·A, with pre the reference's binary64 value and A =
// Σ_q w_q|v_q| (/budget/pooled). An element passing by the budget also meets the spec's sum form
// (|a - r| <= |a - pre| + ½ulp <= ulp(r) + 2^-20·A); one passing by d_ulp <= 2 is within
// 2·ulp(r) except just below a power of two, where two steps up span up to 3·ulp(r). So the rule
// is the spec's or stricter everywhere but that binade edge (the OR form is also up to 2x
// stricter than the sum where both terms matter). No
// ratio of violations is allowed: the spec's bound is hard, and its second part, ratio(d_ulp > 1)
// <= 0.1%, counts BF16 ulps of the fused kernel's cast output; for this fp32 stage an fp32 sum of
// M terms is routinely more than 1 fp32 ulp from the binary64 value, so it has no fp32 analogue.
#include <string>

#include "decl/kernels.h"
#include "kcs/kernels/softmax_pool.h"

namespace kcs {

namespace {

KernelDecl make() {
  KernelDecl d;
  d.id = "softmax_pool";
  d.title = "gated softmax pooling over a block window (K5 compressor core reduction)";
  d.spec = "docs/kernels/softmax_pool.md";
  d.dims = {
      {"n_blocks", "compressed entries (blocks)", 0},
      {"M", "window positions per block (CSA 2*ratio = 8 with overlap, HCA ratio = 128)", 1},
      {"C", "columns (head dim: main 512, indexer 128)", 1},
  };
  d.attrs = {
      {"value_dtype", AttrDecl::Kind::choice, "bfloat16", {"bfloat16", "float32"},
       "storage of the projected values (K5 proj: BF16 or FP32, read as FP32)"},
  };
  d.tensors = {
      input("logits", DType::fp32, {"n_blocks", "M", "C"},
            "z = score + ape (fp32 sum, assembled by the K5 window: current positions, then previous; "
            "a fresh first block pads with -inf)"),
      dtype_from(input("values", DType::bf16, {"n_blocks", "M", "C"}, "projected kv values of the same positions"),
                 "value_dtype"),
      output("pooled", DType::fp32, {"n_blocks", "C"}, Contract::UlpOrBudget(2, 16, ""),
             "sum_q softmax_q(z) v_q per column (budget: sum_q w_q |v_q|)"),
  };
  d.knobs = {{"cols_per_cta", "columns per work item (even; 0 = all columns); COLS_PER_CTA of docs/kernels/compressor.md", 128, true, 0, kKnobMax, 2}};
  return d;
}

}  // namespace

const KernelDecl& softmax_pool_decl() {
  static const KernelDecl d = make();
  return d;
}

}  // namespace kcs
