// Q8 parameters (spec §1.1), parsed once for both backends, and the exact amax both use.
#include "kcs/kernels/q8.h"

#include "kcs/decl.h"
#include "kcs/formats.h"
#include "kcs/status.h"

namespace kcs {

float q8_amax(const float* v, int64_t n) {
  uint32_t best = 0;
  for (int64_t j = 0; j < n; ++j) {
    uint32_t b = f32_bits(v[j]) & 0x7FFFFFFFu;
    if (b > best) best = b;
  }
  return f32_from_bits(best);
}

Q8Params q8_params(const Problem& p) {
  Q8Params q;
  q.floor = p.attr("amax_floor") == "1e-4";
  if (!parse_round(p.attr("round_mode"), &q.rmode)) throw Error("bad round_mode " + p.attr("round_mode"));
  return q;
}

}  // namespace kcs
