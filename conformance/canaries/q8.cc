// Q8 canaries: codes and scale are exact, plus the ±127 and scale self-consistency invariants.
#include <cstdlib>

#include "conformance/canaries/faults.h"

namespace kcs {

std::vector<Canary> q8_canaries() {
  using namespace canary;
  std::vector<Canary> v;
  Canary c;

  c = units_off("codes", 2, "q8.random.rows=4.n=17", "one int8 code off by 2");
  c.name = "code_off_by_2";
  v.push_back(c);

  v.push_back({"ties_away", "ties rounded away from zero instead of to even (rhaz for rint)",
               "q8.ties.rows=2.n=9.round_mode=rint", "", {"codes"}, [](const FaultCall& fc) {
                 return fc.run_reference_with([](Problem& p, TensorMap&) { p.attrs["round_mode"] = "rhaz"; });
               }});

  v.push_back({"scale_1ulp", "one scale 1 ULP off (exact contract)", "q8.random.rows=4.n=17", "",
               {"scale", "invariant:scale_self_consistent"}, [](const FaultCall& fc) {
                 Status s = fc.run_reference();
                 if (s) step_units(fc.out("scale"), 1, 1);
                 return s;
               }});

  // A row whose only ±127 code became ±126: what a scale computed from a slightly too large
  // amax does to the row's extreme element.
  v.push_back({"lost_127", "the single +-127 code of one row is +-126", "q8.random.rows=4.n=17", "",
               {"codes", "invariant:row_has_127"}, [](const FaultCall& fc) {
                 Status s = fc.run_reference();
                 if (!s) return s;
                 Tensor& codes = fc.out("codes");
                 const int64_t n = codes.row_len();
                 int8_t* q = codes.data<int8_t>();
                 for (int64_t r = 0; r < codes.rows(); ++r) {
                   int hits = 0, at = -1;
                   for (int64_t j = 0; j < n; ++j)
                     if (std::abs(q[r * n + j]) == 127) ++hits, at = static_cast<int>(j);
                   if (hits == 1) {
                     q[r * n + at] = q[r * n + at] > 0 ? 126 : -126;
                     return s;
                   }
                 }
                 return Status::Fail("canary: no row with a single +-127 code");
               }});

  v.push_back(nan_in("scale", "q8.random.rows=4.n=17"));
  return v;
}

}  // namespace kcs
