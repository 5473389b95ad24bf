// INT8 GEMM canaries: the int32 accumulators and the dequantized y are both exact.
#include "conformance/canaries/faults.h"

namespace kcs {

std::vector<Canary> gemm_i8_canaries() {
  using namespace canary;
  std::vector<Canary> v;
  Canary c = units_off("acc", 1, "gemm_i8.random.m=2.k=64.n=17.out_dtype=float32", "one int32 accumulator off by 1");
  c.name = "acc_off_by_1";
  v.push_back(c);

  // The dequant multiply reading a column scale 1 ULP off (e.g. a scale converted through bf16
  // and back on one path): y moves, acc does not.
  v.push_back({"s_col_1ulp", "a scale 1 ULP off where the contract is exact (s_col[0])",
               "gemm_i8.random.m=2.k=64.n=17.out_dtype=float32", "", {"y"}, [](const FaultCall& fc) {
                 return fc.run_reference_with([](Problem&, TensorMap& t) { step_units(t.at("s_col"), 0, 1); });
               }});

  c = units_off("y", 1, "gemm_i8.random.m=2.k=64.n=17.out_dtype=bfloat16", "one BF16 output 1 ULP off (exact contract)");
  c.name = "y_bf16_1ulp";
  v.push_back(c);
  v.push_back(nan_in("y", "gemm_i8.random.m=2.k=64.n=17.out_dtype=float32"));
  return v;
}

}  // namespace kcs
