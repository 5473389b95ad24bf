// NVFP4 quantizer: the K4 staging kernel's coder (docs/kernels/nvfp4_quant.md), as a primitive. K4 (issue "K4 NVFP4
// staging") adds the top-k copy around these functions and must not duplicate them.
//
// x [M, K] (BF16, FP16 or FP32, widened exactly to binary32) -> per 128-element block, per
// 16-element group g:
//   amax_g = max(max|v_j|, f32(1e-4));  scale_g = amax_g / 6  (IEEE binary32 division)
//   e_g    = staging E4M3 encode of scale_g (spec §6.3 step 3: custom bit arithmetic with a
//            subnormal path; the exponent is clamped to [0, 15], the mantissa is NOT saturated)
//   ŝ_g    = decode(e_g) (0x7F decodes to 480, not NaN);  inv_g = 1 / max(ŝ_g, f32(1e-6))
//   w_j    = clamp(v_j * inv_g, -6, 6);  code_j = (w_j < 0) << 3 | #{T : |w_j| >= T}
//            with T = 0.25, 0.75, 1.25, 1.75, 2.5, 3.5, 5.0 (ties away from zero)
//   x_fp4[m, j/2] = code(2i) | code(2i+1) << 4;  x_sf[m, w] = 4 scale bytes, little-endian.
// Every step is binary32 (spec §10.1), one rounding per operation, no FMA.
//
// Modes (spec §12 D12, D13):
//   E2m1Ties::away  the staging thresholds (default);  E2m1Ties::even  round-to-nearest-even
//                   (torchao, PTX cvt.rn): |w| > T for T = 0.25, 1.25, 2.5, 5 and |w| >= T for
//                   0.75, 1.75, 3.5. Only the tie direction changes: the sign rule stays (w < 0).
//   saturate_scale  scale_g = min(scale_g, 448) before the encode, so every finite or infinite
//                   amax gives a scale <= 448 (0x7E) instead of 0x7F (amax in (2784, 2880]) or the
//                   exponent-clamp garbage above (e.g. amax 3000 -> ŝ = 256).
//
// kcs definitions where the staging kernel is hardware-dependent (NaN inputs, spec §6.4 "out of
// contract"), fixed so that implementations can be compared bit for bit:
//   * amax is the largest |bit pattern| of the group (a NaN beats Inf beats every finite value);
//     the floor keeps a NaN amax; scale = NaN / 6 is the quieted NaN (payload kept, as IEEE 754
//     and x86 divide), and the encode runs on its bits like on any other pattern.
//   * clamp keeps a NaN w, and a NaN w meets no threshold and is not < 0: its code is 0x0.
//   * w = -0.0 gives code 0x0 (sign = w < 0), whereas kcs::e2m1_from_float gives 0x8.
#pragma once

#include <cstdint>

#include "kcs/dtype.h"
#include "kcs/formats.h"

namespace kcs {

struct Problem;

enum class E2m1Ties { away, even };

struct Nvfp4Params {
  E2m1Ties ties = E2m1Ties::away;
  bool saturate_scale = false;
};

constexpr int64_t kNvfp4Group = 16;    // elements per scale byte (GROUP_K, "scale_vec::4X")
constexpr int64_t kNvfp4Block = 128;   // elements per staging program (BLOCK_K): 8 groups
constexpr float kNvfp4AmaxFloor = 1e-4f;
constexpr float kNvfp4InvFloor = 1e-6f;
constexpr float kNvfp4ScaleMax = 448.0f;  // saturate_scale clamp (largest finite OCP E4M3)

// §6.3 step 1's widening: n elements of BF16 / FP16 bit patterns or FP32 to binary32 (exact).
void nvfp4_widen(const void* x, DType dtype, int64_t n, float* v);

// §6.3 step 1: the group amax by bit pattern (see above), as a non-negative float. Exact.
float nvfp4_amax(const float* v, int64_t n);

// Step 1 (floor) and 2, plus the saturate_scale clamp: the fp32 value the E4M3 encode sees.
float nvfp4_scale(float amax, bool saturate_scale);

// Step 3: the staging kernel's E4M3 encode of a non-negative scale (bit 7 of the result is 0).
// Written literally from the source (guard / sticky / lsb per path). Shifts are mathematical
// (a shift by 32 or more gives 0): behind the 1e-4 floor the largest is 30, and every scale
// below 2^-10 encodes to 0 anyway (its guard bit lies above the significand or rounds to even 0).
uint8_t nvfp4_e4m3_encode(float scale);

// Step 4: decode of a stored scale byte (exp 0: mant * 2^-9; else (1 + mant/8) * 2^(exp-7);
// 0x7F = 480). Exact in binary32.
float nvfp4_e4m3_decode(uint8_t code);

// Step 5 (first half): inv = 1 / max(ŝ, 1e-6).
float nvfp4_inv_scale(float s_hat);

// Steps 5 (clamp) and 6 for one scaled element w = v * inv.
uint8_t nvfp4_e2m1_code(float w, E2m1Ties ties);

// The kernel's attributes (e2m1_ties, saturate_scale), parsed once; throws kcs::Error on an unknown
// tie mode. nvfp4_stage shares them.
Nvfp4Params nvfp4_params(const Problem& p);

}  // namespace kcs
