// BF16 GEMM canaries: y is held to the single-GEMM rule (1 ULP or the abs-dot budget).
#include "conformance/canaries/faults.h"

namespace kcs {

std::vector<Canary> gemm_bf16_canaries() {
  using namespace canary;
  const std::string bf16_case = "gemm_bf16.random.B=1.M=7.K=64.N=17.out_dtype=bfloat16";
  std::vector<Canary> v;
  Canary c = units_off("y", 2, bf16_case, "one BF16 element 2 ULP off, beyond its budget");
  c.name = "y_bf16_2ulp";
  v.push_back(c);
  // A K-tail bug: the last K column of a is never read (K = 15 is not a multiple of any SIMD width).
  v.push_back({"k_tail_dropped", "the last element of every K reduction dropped",
               "gemm_bf16.random.B=1.M=7.K=15.N=17.out_dtype=float32", "", {"y"}, [](const FaultCall& fc) {
                 return fc.run_reference_with([](Problem& p, TensorMap& t) {
                   const int64_t K = p.dim("K");
                   Tensor& a = t.at("a");
                   for (int64_t r = 0; r < a.rows(); ++r) a.data<uint16_t>()[r * K + K - 1] = 0;
                 });
               }});
  v.push_back(nan_in("y", bf16_case));
  return v;
}

}  // namespace kcs
