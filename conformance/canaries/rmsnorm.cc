// RMSNorm canaries: y BF16 max_ulp(1).
#include "conformance/canaries/faults.h"

namespace kcs {

std::vector<Canary> rmsnorm_canaries() {
  using namespace canary;
  const std::string cs = "rmsnorm.pypto.rows=3.n=128";
  std::vector<Canary> v;
  Canary c = units_off("y", 2, cs, "one BF16 element 2 ULP off");
  c.name = "y_bf16_2ulp";
  v.push_back(c);
  // The epilogue forgets the per-channel scale.
  v.push_back({"gamma_skipped", "gamma not applied (gamma read as 1)", cs, "", {"y"}, [](const FaultCall& fc) {
                 return fc.run_reference_with([](Problem&, TensorMap& t) {
                   Tensor& g = t.at("gamma");
                   for (int64_t i = 0; i < g.numel(); ++i) g.data<uint16_t>()[i] = 0x3F80;  // bf16 1.0
                 });
               }});
  v.push_back(nan_in("y", cs));
  return v;
}

}  // namespace kcs
