// RMSNorm parameters (spec §1.4), parsed once for the declaration and both backends.
#include "kcs/kernels/rmsnorm.h"

#include <string>

#include "kcs/decl.h"
#include "kcs/status.h"

namespace kcs {

bool parse_rmsnorm_form(const std::string& s, RmsNormForm* out) {
  RmsNormForm f;
  if (s == "pypto") {
    f = RmsNormForm::pypto;
  } else if (s == "v4") {
    f = RmsNormForm::v4;
  } else {
    return false;
  }
  if (out) *out = f;
  return true;
}

RmsNormParams rmsnorm_params(const Problem& p) {
  RmsNormParams r;
  if (!parse_rmsnorm_form(p.attr("form"), &r.form)) throw Error("rmsnorm: unknown form '" + p.attr("form") + "'");
  r.eps = p.attr_f64("eps");
  return r;
}
}  // namespace kcs
