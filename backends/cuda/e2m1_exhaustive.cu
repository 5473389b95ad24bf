// The CUDA kernels' bit-arithmetic codes against the definitions' steps, for every binary32 input:
// kcs_cuda::e2m1_code against the reference's comparison chain (reference/nvfp4_quant.cc,
// e2m1_code_at_site), ties away and to even; kcs_cuda::q8_code_bits against round (rint or rhaz),
// saturate to [-128, 127], NaN -> 0 (docs/kernels/q8.md). Runs on the host: no GPU needed.
// KCS_E2M1_BREAK=1 flips one E2M1 code and one Q8 code to show that the check fails.
#include <cmath>
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

int8_t q8_steps(float y, bool rhaz) {
  if (std::isnan(y)) return 0;
  const float q = rhaz ? std::roundf(y) : std::rintf(y);
  return q >= 127.0f ? 127 : q <= -128.0f ? -128 : static_cast<int8_t>(q);
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
  unsigned long long bad_q8 = 0;
  for (int rhaz = 0; rhaz < 2; ++rhaz) {
    uint32_t u = 0;
    do {
      float y;
      std::memcpy(&y, &u, 4);
      uint32_t got = rhaz ? kcs_cuda::q8_code_bits<true>(y) : kcs_cuda::q8_code_bits<false>(y);
      if (brk && u == 0x3F000000u) got ^= 1;  // 0.5
      const uint32_t want = static_cast<uint8_t>(q8_steps(y, rhaz != 0));
      if (got != want && bad_q8++ < 10)
        std::printf("mismatch q8 %s y bits 0x%08x: got 0x%x, want 0x%x\n", rhaz ? "rhaz" : "rint", u, got, want);
    } while (++u != 0);
  }
  std::printf("q8_code_bits vs round, saturate, NaN -> 0, 2 x 2^32 inputs: %llu mismatches\n", bad_q8);
  return bad || bad_q8 ? 1 : 0;
}
