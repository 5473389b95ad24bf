// K2 mla_prolog canaries (quant mode): int8 q_norm and KV codes (int_code), fp32 scales, BF16
// query outputs and the rotated k_rope cache, untouched rows of the three caches, and the ±127 row
// invariant.
#include "conformance/canaries/prolog_faults.h"

namespace kcs {

std::vector<Canary> mla_prolog_canaries() {
  using namespace canary;
  const std::string cs = "mla_prolog.tiny_quant.t=5.*";
  std::vector<Canary> v;
  v.push_back(units_off("q_norm_out", 2, cs, "one int8 q_norm code off by 2"));
  v.push_back(units_off("q_norm_scale_out", 2, cs, "one fp32 q_norm scale 2 ULP off (exact up to 2^-7 relative)"));
  v.back().inject = [](const FaultCall& fc) {  // the scale contract is relative (2^-7): move by 1%
    Status s = fc.run_reference();
    if (s) fc.out("q_norm_scale_out").data<float>()[0] *= 1.01f;
    return s;
  };
  v.back().fault = "one fp32 q_norm scale 1% off (the contract allows 2^-7 relative)";
  v.back().name = "q_norm_scale_1pct_off";
  v.push_back(units_off("q_norm_scale_out", 1, cs, "one fp32 q_norm scale 1 ULP off, its row's amax unchanged"));
  v.push_back(touched_fault("k_scale_cache", "k_scale_1_unit_off", "one written fp32 KV group scale 1 ULP off, amax unchanged",
                            cs, [](Tensor& t, int64_t i) { step_units(t, i, 1); }));
  v.push_back(nan_in("query_nope_out", cs));
  v.push_back(nan_in("query_rope_out", cs));
  v.push_back(one_beyond_hard("kr_cache", cs));
  v.push_back(touched_fault("kv_cache", "kv_code_off_by_2", "one written int8 KV code off by 2", cs,
                            [](Tensor& t, int64_t i) { step_units(t, i, 2); }));
  v.push_back(touched_fault("kr_cache", "kr_nan", "NaN in one written k_rope cache element", cs,
                            [](Tensor& t, int64_t i) { set_nan(t, i); }));
  v.push_back(touched_fault("k_scale_cache", "k_scale_nan", "NaN in one written KV group scale", cs,
                            [](Tensor& t, int64_t i) { set_nan(t, i); }));
  v.push_back(write_untouched("kv_cache", cs));
  v.push_back(write_untouched("kr_cache", cs));
  v.push_back(write_untouched("k_scale_cache", cs));
  v.push_back(no_127("q_norm_out", 64, 0, cs, "invariant:codes_hold_127"));
  return v;
}

}  // namespace kcs
