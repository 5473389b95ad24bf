// Q8: symmetric per-row INT8 dynamic quantizer (docs/kernels/q8.md). Used by K1, K2 and K3.
//
// Steps in binary32, exactly as the spec writes them:
//   a = max|v_j| (then max(a, f32(1e-4)) with the floor);  s_q = 127 / a;  y_j = v_j * s_q;
//   c_j = sat8(trunc(fp16(rmode(y_j))));  s_dq = 1 / s_q  (not a / 127: they differ in the last bit).
// kcs definitions where the source is undefined (spec §1.1, §9):
//   a == 0 without a floor: all codes 0 and s_dq = +0.
//   a NaN/Inf rows are out of contract; the result is still defined so that implementations can
//   be compared: a is the element with the largest |bit pattern| (any NaN beats Inf), NaN y gives
//   code 0, and s_dq follows the IEEE operations above.
//   0 < a < 127 * 2^-126 without a floor is rejected (s_dq would be subnormal or s_q infinite).
#pragma once

#include <cstdint>

#include "kcs/formats.h"

namespace kcs {

struct Problem;

struct Q8Params {
  bool floor = false;  // amax floor f32(1e-4) (V4 kernels)
  Round rmode = Round::rint;
};

constexpr float kQ8Floor = 1e-4f;
// Smallest amax accepted without a floor: below it 1/(127/a) is subnormal.
constexpr float kQ8MinAmax = 127.0f * 1.17549435e-38f;

// Largest |v_j| by bit pattern (NaN > Inf > finite), as a non-negative float. Exact.
float q8_amax(const float* v, int64_t n);

// The kernel's attributes (amax_floor, round_mode), parsed once; throws kcs::Error on an unknown mode.
Q8Params q8_params(const Problem& p);

}  // namespace kcs
