// RoPE canaries: y (1 ULP or the budget) plus the pass-through and zero-sign invariants, which
// catch what the y contract lets through by design (1 ULP moves, +0 vs -0).
#include <cmath>

#include "conformance/canaries/faults.h"

namespace kcs {

namespace {

// Flips the sign of every float in a cos/sin table (BF16 or FP32 storage).
void negate_table(Tensor& t) {
  for (int64_t i = 0; i < t.numel(); ++i) {
    if (t.dtype() == DType::bf16)
      t.data<uint16_t>()[i] ^= 0x8000;
    else
      t.data<float>()[i] = -t.data<float>()[i];
  }
}

}  // namespace

std::vector<Canary> rope_canaries() {
  using namespace canary;
  const std::string half = "rope.k1_half.T=3.H=3.D=128.R=64.W=64";
  std::vector<Canary> v;

  v.push_back({"sin_sign_flip", "RoPE sign flip (rotation by -theta: sin negated)", half, "", {"y"},
               [](const FaultCall& fc) {
                 return fc.run_reference_with([](Problem&, TensorMap& t) { negate_table(t.at("sin")); });
               }});

  v.push_back({"rotate_half_for_pairs", "rotate-half instead of interleaved pairs (R-HALF on an R-PAIR call)",
               "rope.k3_pair.*", "", {"y"}, [](const FaultCall& fc) {
                 return fc.run_reference_with([](Problem& p, TensorMap&) { p.attrs["mode"] = "half"; });
               }});

  Canary c = units_off("y", 2, half, "one BF16 element 2 ULP off, beyond its budget");
  c.name = "y_bf16_2ulp";
  v.push_back(c);

  // A pass-through column rewritten through a float round trip that moves it by 1 ULP: within
  // y's 1-ULP allowance, so only the bit-exact pass-through invariant sees it.
  v.push_back({"passthrough_1ulp", "one pass-through (non-rope) column 1 ULP off", half, "",
               {"invariant:passthrough_exact"}, [](const FaultCall& fc) {
                 Status s = fc.run_reference();
                 if (!s) return s;
                 const int64_t D = fc.inv.dim("D"), R = fc.inv.dim("R");
                 const int64_t off = fc.inv.attr("slice") == "last" ? 0 : R;  // first pass-through column
                 if (D == R) return Status::Fail("canary: the case has no pass-through column");
                 step_units(fc.out("y"), off, 1);
                 return s;
               }});

  // x1 + 0.0 forgotten: exact-zero rope results keep the sign of the product (-0 where the spec
  // gives +0). d_ulp(+0, -0) = 0, so only the zero-sign invariant sees it.
  v.push_back({"zero_sign_lost", "exact-zero rope values output with the wrong sign", "rope.signed_zeros.*mode=half", "",
               {"invariant:zero_sign"}, [](const FaultCall& fc) {
                 Status s = fc.run_reference();
                 if (!s) return s;
                 const int64_t T = fc.inv.dim("T"), H = fc.inv.dim("H"), D = fc.inv.dim("D"), R = fc.inv.dim("R");
                 const int64_t off = fc.inv.attr("slice") == "last" ? D - R : 0;
                 uint16_t* y = fc.out("y").data<uint16_t>();
                 int64_t flipped = 0;
                 for (int64_t k = 0; k < T * H; ++k)
                   for (int64_t j = off; j < off + R; ++j)
                     if ((y[k * D + j] & 0x7FFF) == 0) y[k * D + j] ^= 0x8000, ++flipped;
                 return flipped ? s : Status::Fail("canary: no zero in the rope slice");
               }});

  v.push_back(nan_in("y", half));
  return v;
}

}  // namespace kcs
