// NVFP4 staging canaries (K4): packed codes, scales and the top-k copies exact, plus the
// unsigned-scale and codes-match-own-scales invariants.
#include "conformance/canaries/faults.h"

namespace kcs {

std::vector<Canary> nvfp4_stage_canaries() {
  using namespace canary;
  const std::string cs = "nvfp4_stage.random.M=3.K=128.top_k=6";
  std::vector<Canary> v;

  v.push_back(swapped_nibble(cs));

  v.push_back({"ties_even_in_away_mode", "E2M1 ties rounded to even although the call asks for away",
               "nvfp4_stage.special.*e2m1_ties=away.saturate_scale=0", "", {"x_fp4"}, [](const FaultCall& fc) {
                 return fc.run_reference_with([](Problem& p, TensorMap&) { p.attrs["e2m1_ties"] = "even"; });
               }});

  v.push_back({"scale_1ulp", "one UE4M3 block scale 1 ULP off", cs, "", {"x_sf"}, [](const FaultCall& fc) {
                 Status s = fc.run_reference();
                 if (s) step_units(fc.out("x_sf"), 0, 1);
                 return s;
               }});

  v.push_back({"scale_sign_bit", "bit 7 set in one UE4M3 scale byte", cs, "",
               {"x_sf", "invariant:scale_bytes_unsigned"}, [](const FaultCall& fc) {
                 Status s = fc.run_reference();
                 if (s) static_cast<uint8_t*>(fc.out("x_sf").raw())[0] |= 0x80;
                 return s;
               }});

  v.push_back({"ids_wrong_widening", "one int64 expert id corrupted above bit 31 (a wrong int32 -> int64 widening)",
               "nvfp4_stage.random.M=3.K=128.top_k=6", "", {"topk_idx_out"}, [](const FaultCall& fc) {
                 Status s = fc.run_reference();
                 if (s) fc.out("topk_idx_out").data<int64_t>()[0] ^= int64_t{1} << 40;
                 return s;
               }});

  v.push_back(nan_in("topk_weights_out", cs));
  return v;
}

}  // namespace kcs
