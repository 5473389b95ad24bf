// kcs_cuda::e2m1_code (bit arithmetic, kernels.cuh) against the reference's comparison chain
// (reference/nvfp4_quant.cc, e2m1_code_at_site) for every binary32 input, ties away and to even.
// Runs on the host: no GPU needed.  KCS_E2M1_BREAK=1 flips one threshold to show the check fails.
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "backends/cuda/kernels.cuh"

namespace {

uint8_t chain(float w, bool even) {
  float c = w;
  if (c < -6.0f) c = -6.0f;
  if (c > 6.0f) c = 6.0f;
  const float a = c < 0.0f ? -c : c;
  const int idx = even ? (a > 0.25f) + (a >= 0.75f) + (a > 1.25f) + (a >= 1.75f) + (a > 2.5f) + (a >= 3.5f) + (a > 5.0f)
                       : (a >= 0.25f) + (a >= 0.75f) + (a >= 1.25f) + (a >= 1.75f) + (a >= 2.5f) + (a >= 3.5f) +
                             (a >= 5.0f);
  return static_cast<uint8_t>((c < 0.0f ? 0x8 : 0x0) | idx);
}

}  // namespace

int main() {
  const bool brk = std::getenv("KCS_E2M1_BREAK") != nullptr;
  unsigned long long bad = 0;
  for (int even = 0; even < 2; ++even) {
    uint32_t u = 0;
    do {
      float w;
      std::memcpy(&w, &u, 4);
      uint8_t got = kcs_cuda::e2m1_code(w, even != 0);
      if (brk && u == 0x40A00000u) got ^= 1;  // 5.0
      const uint8_t want = chain(w, even != 0);
      if (got != want && bad++ < 10)
        std::printf("mismatch %s w bits 0x%08x: got 0x%x, want 0x%x\n", even ? "even" : "away", u, got, want);
    } while (++u != 0);
  }
  std::printf("e2m1_code vs the comparison chain, 2 x 2^32 inputs: %llu mismatches\n", bad);
  return bad ? 1 : 0;
}
