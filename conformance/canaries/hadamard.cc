// Hadamard canaries: y is a single GEMM + BF16 cast (1 ULP or the abs-dot budget).
#include "conformance/canaries/faults.h"

namespace kcs {

std::vector<Canary> hadamard_canaries() {
  using namespace canary;
  const std::string cs = "hadamard.smoke_random.T=7.D=64";
  std::vector<Canary> v;
  Canary c = units_off("y", 2, cs, "one BF16 element 2 ULP off, beyond its budget");
  c.name = "y_bf16_2ulp";
  v.push_back(c);
  v.push_back(nan_in("y", cs));
  return v;
}

}  // namespace kcs
