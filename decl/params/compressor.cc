// K5 compressor parameters (spec §7), parsed once for both backends.
#include "kcs/kernels/compressor.h"

#include "kcs/decl.h"

namespace kcs {

CompressorParams compressor_params(const Problem& p) {
  CompressorParams cp;
  cp.csa = p.attr("variant") == "csa";
  cp.model = p.attr("epilogue") == "model";
  cp.external_prev = p.attr("has_external_prev") == "true";
  cp.n_blocks = p.dim("n_blocks");
  cp.N = p.dim("N");
  cp.M = p.dim("M");
  cp.C = p.dim("C");
  cp.C_I = p.dim("C_I");
  cp.NOPE = p.dim("NOPE");
  cp.ROPE = p.dim("ROPE");
  cp.P = p.dim("P");
  cp.start_token = p.attr_i64("start_token");
  cp.start_abs_pos = p.attr_i64("start_abs_pos");
  cp.eps = p.attr_f64("eps");
  return cp;
}

}  // namespace kcs
