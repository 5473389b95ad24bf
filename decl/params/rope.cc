// RoPE parameters (spec §1.3), parsed once for the declaration and both backends.
#include "kcs/kernels/rope.h"

#include <string>

#include "kcs/decl.h"
#include "kcs/status.h"

namespace kcs {

bool parse_rope_mode(const std::string& s, RopeMode* out) {
  RopeMode m;
  if (s == "half") {
    m = RopeMode::half;
  } else if (s == "v2") {
    m = RopeMode::v2;
  } else if (s == "pair") {
    m = RopeMode::pair;
  } else {
    return false;
  }
  if (out) *out = m;
  return true;
}

RopeParams rope_params(const Problem& p) {
  RopeParams r;
  if (!parse_rope_mode(p.attr("mode"), &r.mode)) throw Error("rope: unknown mode '" + p.attr("mode") + "'");
  r.T = p.dim("T");
  r.H = p.dim("H");
  r.D = p.dim("D");
  r.R = p.dim("R");
  r.W = p.dim("W");
  r.half_table = p.attr("table") == "half";
  r.table_f32 = p.attr("table_dtype") == "float32";
  r.off = p.attr("slice") == "last" ? r.D - r.R : 0;
  return r;
}
}  // namespace kcs
