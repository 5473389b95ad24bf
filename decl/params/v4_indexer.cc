// K3 parameters and constants derived from the dimensions (spec §5.3) and the score rule (spec §10.5),
// shared by the declaration, both backends and the suite.
#include "kcs/kernels/v4_indexer.h"

#include <algorithm>
#include <cmath>

#include "kcs/decl.h"
#include "kcs/formats.h"
#include "kcs/status.h"

namespace kcs {

Q8Params v4_indexer_q8_params(const Problem& p) {
  Q8Params q;
  q.floor = true;
  if (!parse_round(p.attr("round_mode"), &q.rmode)) throw Error("v4_indexer: bad round_mode " + p.attr("round_mode"));
  return q;
}

float v4_indexer_weights_scale(int64_t Dh, int64_t H) {
  return static_cast<float>(1.0 / std::sqrt(static_cast<double>(Dh)) / std::sqrt(static_cast<double>(H)));
}

double v4_score_tol(double r, double rms) { return 1e-4 * std::max(1.0, rms) + 0x1.0p-7 * std::fabs(r); }
double v4_score_hard_tol(double r, double rms) {
  return std::max(4.0 * v4_score_tol(r, rms), 5e-3 * std::max(1.0, rms));
}

}  // namespace kcs
