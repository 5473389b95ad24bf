// LayerNorm canaries: y BF16, 1 ULP or the reduction budget.
#include "conformance/canaries/faults.h"

namespace kcs {

std::vector<Canary> layernorm_canaries() {
  using namespace canary;
  const std::string cs = "layernorm.random.rows=3.n=128";
  std::vector<Canary> v;
  Canary c = units_off("y", 2, cs, "one BF16 element 2 ULP off, beyond its budget");
  c.name = "y_bf16_2ulp";
  v.push_back(c);
  // The epilogue forgets the shift: visible wherever beta != 0.
  v.push_back({"beta_dropped", "the shift beta not added", cs, "", {"y"}, [](const FaultCall& fc) {
                 return fc.run_reference_with([](Problem&, TensorMap& t) { t.at("beta").fill_bytes(0); });
               }});
  v.push_back(nan_in("y", cs));
  return v;
}

}  // namespace kcs
