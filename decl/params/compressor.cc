// K5 compressor parameters (spec §7), parsed once for both backends.
#include "kcs/kernels/compressor.h"

#include "kcs/decl.h"

namespace kcs {

CompressorParams compressor_params(const Problem& p) {
  CompressorParams cp;
  cp.csa = p.attr("variant") == "csa";
  cp.model = p.attr("epilogue") == "model";
  cp.external_prev = p.attr("has_external_prev") == "true";
  // Every dimension of the declaration (decl/compressor.cc) in one walk of the problem's map.
  static const DimReader reader({"n_blocks", "N", "M", "C", "C_I", "NOPE", "ROPE", "G", "MP", "P"});
  int64_t v[10];
  reader.read(p, v);
  cp.n_blocks = v[0];
  cp.N = v[1];
  cp.M = v[2];
  cp.C = v[3];
  cp.C_I = v[4];
  cp.NOPE = v[5];
  cp.ROPE = v[6];
  cp.P = v[9];
  cp.start_token = p.attr_i64("start_token");
  cp.start_abs_pos = p.attr_i64("start_abs_pos");
  cp.eps = p.attr_f64("eps");
  return cp;
}

}  // namespace kcs
