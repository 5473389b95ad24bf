// The floating-point environment a backend call must leave as it found it: the SSE control bits
// (MXCSR rounding, FTZ, DAZ, exception masks), the x87 control word and fegetround(). A backend
// that sets FTZ (or is built with -Ofast, whose crtfastmath.o sets it when the library loads)
// changes every later computation of the process, the reference's included.
#pragma once

#include <cstdint>
#include <string>

namespace kcs {

struct FpEnv {
  uint32_t mxcsr = 0;  // control bits only (the sticky exception flags change with any arithmetic)
  uint16_t x87_cw = 0;
  int round = 0;  // fegetround()

  static FpEnv save();
  void restore() const;  // the saved control state back, exception flags cleared
  bool operator==(const FpEnv& o) const { return mxcsr == o.mxcsr && x87_cw == o.x87_cw && round == o.round; }
  bool operator!=(const FpEnv& o) const { return !(*this == o); }
};

// "MXCSR 0x1f80 -> 0x9fc0 (FTZ, DAZ set); rounding to-nearest -> toward-zero"; empty when equal.
std::string describe_fp_change(const FpEnv& before, const FpEnv& after);

}  // namespace kcs
