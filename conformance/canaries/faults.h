// Building blocks for canaries: one-element faults on tensors of any kcs dtype, and the choice of
// an element where a fault must be visible under the output's contract.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "conformance/canaries/canary.h"

namespace kcs::canary {

// Moves logical element `i` by `n` units of its own format: ULPs for bf16/fp16/fp32/fp64 (away
// from zero, or towards it when that would reach Inf/NaN), code steps for integers, E2M1 nibbles
// and UE4M3 bytes (up, or down when up would leave the format's finite codes).
void step_units(Tensor& t, int64_t i, int64_t n);
// Puts a quiet NaN into logical element `i` (float dtypes only; throws otherwise).
void set_nan(Tensor& t, int64_t i);
// First logical element (in index order) for which pred(value) holds, or -1.
int64_t find_element(const Tensor& t, const std::function<bool(int64_t i, double v)>& pred);

// An element of output `name` where moving the reference value by `n` units must break the
// output's contract: for ulp_or_budget the one whose step exceeds the error budget by the largest
// factor, for the other contracts the finite non-zero element of largest magnitude. -1 if none.
int64_t visible_element(const FaultCall& fc, const std::string& name, int64_t n);

// Canaries every floating-point output gets: an n-unit error on one visible element and a NaN in
// one element. `what` names the error, e.g. "one BF16 element 2 ULP off".
Canary units_off(const std::string& output, int64_t n, const std::string& case_glob, const std::string& what);
Canary nan_in(const std::string& output, const std::string& case_glob);
// For int_code(max_diff, max_ratio) outputs: codes off by 1 in one more element than the ratio
// allows (allowed_count(max_ratio, numel) + 1), spread one per row first.
Canary codes_off_beyond_ratio(const std::string& output, const std::string& case_glob);
// For packed E2M1 outputs (x_fp4): the two nibbles of the first byte that holds two different codes
// swapped (odd element in the low nibble); caught by x_fp4 and invariant:codes_match_own_scales.
Canary swapped_nibble(const std::string& case_glob);
// For contracts with a ratio part and a hard part (contract.h): ONE element (the finite non-zero
// one of largest magnitude, NEG_FILL excluded; the first written row's for an in-out tensor)
// multiplied by 4. The ratio part allows one element anywhere, so only the hard part catches it.
Canary one_beyond_hard(const std::string& output, const std::string& case_glob);

}  // namespace kcs::canary
