#include "conformance/runner/fpenv.h"

#include <cfenv>
#include <cstdio>

#include <xmmintrin.h>

namespace kcs {

namespace {

constexpr uint32_t kMxcsrControl = 0xFFC0u;  // DAZ, exception masks, rounding, FTZ
constexpr uint32_t kFtz = 1u << 15, kDaz = 1u << 6, kRc = 3u << 13, kMasks = 0x3Fu << 7;

const char* round_name(int r) {
  switch (r) {
    case FE_TONEAREST: return "to-nearest";
    case FE_TOWARDZERO: return "toward-zero";
    case FE_UPWARD: return "upward";
    case FE_DOWNWARD: return "downward";
  }
  return "unknown";
}

std::string hex(uint32_t v) {
  char b[16];
  std::snprintf(b, sizeof b, "0x%04x", v);
  return b;
}

}  // namespace

FpEnv FpEnv::save() {
  FpEnv e;
  e.mxcsr = _mm_getcsr() & kMxcsrControl;
  __asm__ volatile("fnstcw %0" : "=m"(e.x87_cw));
  e.round = std::fegetround();
  return e;
}

void FpEnv::restore() const {
  uint16_t cw = x87_cw;
  __asm__ volatile("fnclex\n\tfldcw %0" : : "m"(cw));
  _mm_setcsr(mxcsr);
  std::fesetround(round);
}

std::string describe_fp_change(const FpEnv& a, const FpEnv& b) {
  std::string out;
  auto add = [&](const std::string& s) { out += (out.empty() ? "" : "; ") + s; };
  if (a.mxcsr != b.mxcsr) {
    std::string what;
    auto bit = [&](uint32_t m, const char* name) {
      if ((a.mxcsr & m) != (b.mxcsr & m)) what += std::string(what.empty() ? "" : ", ") + name + ((b.mxcsr & m) ? " set" : " cleared");
    };
    bit(kFtz, "FTZ");
    bit(kDaz, "DAZ");
    if ((a.mxcsr & kRc) != (b.mxcsr & kRc)) what += std::string(what.empty() ? "" : ", ") + "SSE rounding changed";
    if ((a.mxcsr & kMasks) != (b.mxcsr & kMasks)) what += std::string(what.empty() ? "" : ", ") + "exception masks changed";
    add("MXCSR " + hex(a.mxcsr) + " -> " + hex(b.mxcsr) + " (" + what + ")");
  }
  if (a.round != b.round) add(std::string("rounding ") + round_name(a.round) + " -> " + round_name(b.round));
  if (a.x87_cw != b.x87_cw) add("x87 control word " + hex(a.x87_cw) + " -> " + hex(b.x87_cw));
  return out;
}

}  // namespace kcs
