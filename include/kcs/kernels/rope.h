// RoPE variants (docs/kernels/rope.md) and the frequency / table builders used to make fixture tables.
//
// On one rope slice x[0..R) of a head (h = R/2), with per-column coefficients c_j, s_j:
//   R-HALF (K1, "rotate_half"):  r = concat(−x[h:R], x[0:h] + 0.0),  y_j = x_j·c_j + r_j·s_j.
//                                The "+ 0.0" is the source's and turns −0 into +0.
//   R-V2 (K2 rope_v2):           x'_j = x_{2j}, x'_{h+j} = x_{2j+1} (de-interleave), y = R-HALF(x');
//                                the output stays in de-interleaved (halves) order.
//   R-PAIR (K3, K5, V4):         y_{2p} = x_{2p}·c_p − x_{2p+1}·s_p,  y_{2p+1} = x_{2p}·s_p + x_{2p+1}·c_p.
// Tables: "full" = half-duplicated [rows, R] (K1/K2 pass BF16; c_j is column j, any values);
// "half" = [rows, R/2] (K3 passes FP32; for R-HALF / R-V2 column j uses c_{j mod h}). R-PAIR reads
// c_p, s_p of the half layout.
// The kernels compute in binary32 from the widened inputs: two products and one add (no FMA),
// then one cast to BF16. The reference computes in binary64: every product of a BF16 value and a
// BF16 or FP32 coefficient is exact there, so the only binary64 rounding is the add.
//
// Contract (kcs, derived here): ulp_or_budget(1, 2.0625) with the budget
//   B_j = |ŷ_j| + (table FP32 ? |x_j·c_j| + |r_j·s_j| : 0)        (units of 2^-24)
// = the first-order bound of |binary32 result − ŷ_j|: the add rounds once (u|ŷ|); a BF16 × FP32
// product rounds in binary32 (u each), a BF16 × BF16 product is exact. With BF16 tables the result
// is the exact value rounded once to binary32, so d_ulp ≤ 1 always holds (spec §10.4). With FP32
// tables (K3) the two products round and can cancel (x_{2p}c_p ≈ x_{2p+1}s_p), so the binary32
// kernel of spec §5.3 step 3 can be many BF16 units off a small output: the budget branch admits
// exactly that rounding noise. c = 2 (final rounding across a binade) × (1 + 2^-5) (higher-order
// terms ≤ 2^-23 relative; the reference's own 2^-53 error).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace kcs {

struct Problem;

enum class RopeMode { half, v2, pair };

// Returns false (and leaves *out alone) for an unknown name ("half", "v2", "pair").
bool parse_rope_mode(const std::string& s, RopeMode* out);

// Everything a RoPE implementation reads from the problem, parsed once.
struct RopeParams {
  RopeMode mode = RopeMode::half;
  int64_t T = 0, H = 0, D = 0, R = 0, W = 0;
  int64_t off = 0;          // first rope column of a head: 0 (slice=first) or D - R (slice=last)
  bool half_table = false;  // table=half: [T, R/2]; else half-duplicated [T, R]
  bool table_f32 = false;   // table_dtype=float32 (K3); else bfloat16
};
// Throws kcs::Error on an unknown mode.
RopeParams rope_params(const Problem& p);

}  // namespace kcs
