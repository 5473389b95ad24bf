// Softmax pooling canaries: pooled fp32, 2 ULP or the exp/sum budget.
#include <cmath>

#include "conformance/canaries/faults.h"

namespace kcs {

std::vector<Canary> softmax_pool_canaries() {
  using namespace canary;
  const std::string cs = "softmax_pool.s_csa.n_blocks=3.M=8.C=64";
  std::vector<Canary> v;
  Canary c = units_off("pooled", 64, cs, "one element 64 ULP off, beyond its budget");
  c.name = "pooled_64ulp";
  v.push_back(c);
  // A window off by one: the last position of every block is left out of the softmax.
  v.push_back({"last_position_dropped", "the last window position masked out of the softmax", cs, "", {"pooled"},
               [](const FaultCall& fc) {
                 return fc.run_reference_with([](Problem& p, TensorMap& t) {
                   const int64_t nb = p.dim("n_blocks"), M = p.dim("M"), C = p.dim("C");
                   float* l = t.at("logits").data<float>();
                   for (int64_t b = 0; b < nb; ++b)
                     for (int64_t col = 0; col < C; ++col) l[(b * M + M - 1) * C + col] = -INFINITY;
                 });
               }});
  v.push_back(nan_in("pooled", cs));
  return v;
}

}  // namespace kcs
