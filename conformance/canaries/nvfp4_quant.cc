// NVFP4 canaries: packed E2M1 codes and UE4M3 scales exact, plus the unsigned-scale and
// codes-match-own-scales invariants.
#include "conformance/canaries/faults.h"

namespace kcs {

std::vector<Canary> nvfp4_quant_canaries() {
  using namespace canary;
  const std::string cs = "nvfp4_quant.random.M=3.K=128";
  std::vector<Canary> v;

  v.push_back(swapped_nibble(cs));

  v.push_back({"ties_away", "E2M1 ties rounded away instead of to even", "nvfp4_quant.ties.*e2m1_ties=even*", "",
               {"x_fp4"}, [](const FaultCall& fc) {
                 return fc.run_reference_with([](Problem& p, TensorMap&) { p.attrs["e2m1_ties"] = "away"; });
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
  return v;
}

}  // namespace kcs
