// The CUDA kernels' bit-arithmetic codes against the definitions' steps, for every binary32 input,
// on the host (no GPU needed): kcs_cuda::e2m1_code (any w) and e2m1_code_finite (the staging
// kernel's fast path: every non-NaN w) against the reference's comparison chain
// (reference/nvfp4_quant.cc, e2m1_code_at_site), ties away and to even; kcs_cuda::q8_code_bits
// (every y) and q8_rint_byte_in_range (every |y| < 127.5, a superset of what the Q8 kernel's fast
// path sees) against round (rint or rhaz), saturate to [-128, 127], NaN -> 0 (docs/kernels/q8.md).
// KCS_E2M1_BREAK=1 flips one code of each function to show that the check fails.
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
  unsigned long long bad = 0, bad_fast = 0, bad_q8 = 0, bad_q8_fast = 0;
  for (int even = 0; even < 2; ++even) {
    uint32_t u = 0;
    do {
      float w;
      std::memcpy(&w, &u, 4);
      const uint8_t want = chain(w, even != 0);
      uint8_t got = kcs_cuda::e2m1_code(w, even != 0);
      if (brk && u == 0x40A00000u) got ^= 1;  // 5.0
      if (got != want && bad++ < 10)
        std::printf("mismatch e2m1_code %s w bits 0x%08x: got 0x%x, want 0x%x\n", even ? "even" : "away", u, got, want);
      if (!std::isnan(w)) {
        uint32_t fast = even ? kcs_cuda::e2m1_code_finite<true>(w) : kcs_cuda::e2m1_code_finite<false>(w);
        if (brk && u == 0x3E800000u) fast ^= 1;  // 0.25
        if (fast != want && bad_fast++ < 10)
          std::printf("mismatch e2m1_code_finite %s w bits 0x%08x: got 0x%x, want 0x%x\n", even ? "even" : "away", u,
                      fast, want);
      }
    } while (++u != 0);
  }
  std::printf("e2m1_code vs the comparison chain, 2 x 2^32 inputs: %llu mismatches\n", bad);
  std::printf("e2m1_code_finite vs the comparison chain, every non-NaN input, 2 modes: %llu mismatches\n", bad_fast);
  for (int rhaz = 0; rhaz < 2; ++rhaz) {
    uint32_t u = 0;
    do {
      float y;
      std::memcpy(&y, &u, 4);
      const uint32_t want = static_cast<uint8_t>(q8_steps(y, rhaz != 0));
      uint32_t got = rhaz ? kcs_cuda::q8_code_bits<true>(y) : kcs_cuda::q8_code_bits<false>(y);
      if (brk && u == 0x3F000000u) got ^= 1;  // 0.5
      if (got != want && bad_q8++ < 10)
        std::printf("mismatch q8_code_bits %s y bits 0x%08x: got 0x%x, want 0x%x\n", rhaz ? "rhaz" : "rint", u, got,
                    want);
      if (!rhaz && std::fabs(y) < 127.5f) {
        uint32_t fast = kcs_cuda::q8_rint_byte_in_range(y);
        if (brk && u == 0x42FE0000u) fast ^= 1;  // 127.0
        if (fast != want && bad_q8_fast++ < 10)
          std::printf("mismatch q8_rint_byte_in_range y bits 0x%08x: got 0x%x, want 0x%x\n", u, fast, want);
      }
    } while (++u != 0);
  }
  std::printf("q8_code_bits vs round, saturate, NaN -> 0, 2 x 2^32 inputs: %llu mismatches\n", bad_q8);
  std::printf("q8_rint_byte_in_range vs rint, every |y| < 127.5: %llu mismatches\n", bad_q8_fast);
  return bad || bad_fast || bad_q8 || bad_q8_fast ? 1 : 0;
}
