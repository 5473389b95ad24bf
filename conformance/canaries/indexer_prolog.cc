// K1 indexer_prolog canaries: int8 query and cache codes (int_code), fp16 scales, fp16 weights
// (budget), untouched cache rows, and the ±127 row invariants.
#include "conformance/canaries/prolog_faults.h"

namespace kcs {

std::vector<Canary> indexer_prolog_canaries() {
  using namespace canary;
  const std::string cs = "indexer_prolog.s5.*";
  std::vector<Canary> v;
  v.push_back(codes_off_beyond_ratio("q_int8", cs));
  v.push_back(units_off("q_int8", 2, cs, "one int8 query code off by 2"));
  v.push_back(nan_in("q_scale", cs));
  // Scale self-consistency: 1 ULP is far inside the 2^-7 bound, but no BF16 amax gives that scale.
  v.push_back(units_off("q_scale", 1, cs, "one fp16 query scale 1 ULP off, its row's amax unchanged"));
  v.push_back(touched_fault("k_scale_cache", "k_scale_1_unit_off", "one written fp16 key scale 1 ULP off, amax unchanged",
                            cs, [](Tensor& t, int64_t i) { step_units(t, i, 1); }));
  v.push_back(nan_in("weights", cs));
  v.push_back(write_untouched("k_cache", cs));
  v.push_back(write_untouched("k_scale_cache", cs));
  v.push_back(no_127("q_int8", 64, 0, cs, "invariant:q_row_has_127"));
  // k_cache: a written row (the bundle's first touched row) without its ±127.
  Canary k = no_127("k_cache", 64, 0, cs, "invariant:k_row_has_127");
  k.inject = [](const FaultCall& fc) {
    Status s = fc.run_reference();
    if (!s) return s;
    const auto& mask = fc.bundle.touched.at("k_cache");
    Tensor& t = fc.out("k_cache");
    for (size_t r = 0; r < mask.size(); ++r) {
      if (!mask[r]) continue;
      int8_t* c = t.data<int8_t>() + static_cast<int64_t>(r) * t.row_len();
      int n = 0;
      for (int64_t j = 0; j < t.row_len(); ++j)
        if (c[j] == 127 || c[j] == -127) {
          c[j] = static_cast<int8_t>(c[j] > 0 ? 126 : -126);
          ++n;
        }
      if (n) return s;
    }
    return Status::Fail("canary: no written k_cache row with a +-127 code");
  };
  v.push_back(k);
  v.push_back(touched_fault("k_cache", "k_code_off_by_2", "one written int8 key code off by 2", cs,
                            [](Tensor& t, int64_t i) { step_units(t, i, 2); }));
  v.push_back(touched_fault("k_scale_cache", "k_scale_nan", "NaN in one written fp16 key scale", cs,
                            [](Tensor& t, int64_t i) { set_nan(t, i); }));
  return v;
}

}  // namespace kcs
