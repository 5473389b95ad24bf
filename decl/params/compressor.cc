// K5 compressor parameters (spec §7), parsed once for both backends.
#include "kcs/kernels/compressor.h"

#include "decl/params/dims.h"
#include "kcs/decl.h"

namespace kcs {

void compressor_read_dims(const Problem& p, int64_t (&v)[kCmpDims]) {
  // Every dimension of the declaration (decl/compressor.cc), in CompressorDim order.
  static const DimReader reader({"n_blocks", "N", "M", "C", "C_I", "NOPE", "ROPE", "G", "MP", "P"});
  reader.read(p, v);
}

CompressorParams compressor_params(const Problem& p) {
  CompressorParams cp;
  cp.csa = p.attr("variant") == "csa";
  cp.model = p.attr("epilogue") == "model";
  cp.external_prev = p.attr("has_external_prev") == "true";
  int64_t v[kCmpDims];
  compressor_read_dims(p, v);
  cp.n_blocks = v[kCmpNBlocks];
  cp.N = v[kCmpN];
  cp.M = v[kCmpM];
  cp.C = v[kCmpC];
  cp.C_I = v[kCmpCI];
  cp.NOPE = v[kCmpNope];
  cp.ROPE = v[kCmpRope];
  cp.P = v[kCmpP];
  cp.start_token = p.attr_i64("start_token");
  cp.start_abs_pos = p.attr_i64("start_abs_pos");
  cp.eps = p.attr_f64("eps");
  return cp;
}

}  // namespace kcs
