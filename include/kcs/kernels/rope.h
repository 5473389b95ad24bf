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

enum class RopeMode { half, v2, pair };

// Returns false (and leaves *out alone) for an unknown name ("half", "v2", "pair").
bool parse_rope_mode(const std::string& s, RopeMode* out);

// One head's rope slice for the reference.
struct RopeSliceRef {
  RopeMode mode = RopeMode::half;
  int64_t R = 0;               // even, >= 2
  const float* cos = nullptr;  // R values (full table) or R/2 (half table), widened exactly
  const float* sin = nullptr;
  bool half_table = false;
};

// Binary64 reference of one rope slice: writes the pre-rounding values y[R] (the caller casts
// with bf16_from_double) and, when abs_terms != nullptr, abs_terms[j] = |x_j·c_j| + |r_j·s_j| (the
// two products that form y_j). x holds R values exactly representable in binary32 (BF16).
void rope_slice_reference(const RopeSliceRef& s, const float* x, double* y, double* abs_terms = nullptr);

// ---------------------------------------------------------------------------------------------
// Frequencies and tables (spec §1.3 "Frequencies"), following the official precompute_freqs_cis
// (O1, O3) step by step in binary32: inv_freq_p = 1 ⊘ base^(2p/R); with YaRN
//   low  = max(floor(R·ln(L0/(β_fast·2π)) / (2 ln base)), 0),
//   high = min(ceil(R·ln(L0/(β_slow·2π)) / (2 ln base)), R − 1)   (high += 0.001 if equal),
//   ramp_p = clamp((p − low) ⊘ (high − low), 0, 1),  smooth_p = 1 ⊖ ramp_p,
//   θ'_p = ((θ_p ⊘ factor) ⊗ (1 ⊖ smooth_p)) ⊕ (θ_p ⊗ smooth_p),
// angle = f32(pos) ⊗ θ'_p, cos/sin of the binary32 angle. Every binary32 step is the correctly
// rounded result of its binary32 operands (computed in binary64 and rounded once; for pow and
// cos/sin up to the library's sub-ulp binary64 error), so the tables are the same on every
// platform. The generator then casts them to the table dtype (BF16: round to nearest even).
// ---------------------------------------------------------------------------------------------

struct RopeFreqConfig {
  double base = 10000;
  bool yarn = false;
  double factor = 1;
  int64_t original_seq_len = 4096;  // L0
  double beta_fast = 32;
  double beta_slow = 1;
};

RopeFreqConfig rope_freq_v32();            // V3.2: base 10000, YaRN ×40, L0 4096, β 32 / 1
RopeFreqConfig rope_freq_v4_compressed();  // V4 compressed layers: base 160000, YaRN ×16, L0 65536
RopeFreqConfig rope_freq_v4_window();      // V4 uncompressed (sliding-window) layers: base 10000, no YaRN

struct YarnRange {
  int64_t low = 0, high = 0;
};
// The clamped correction range (before the "+0.001 when equal" of the ramp).
YarnRange rope_yarn_range(const RopeFreqConfig& c, int64_t R);

// θ'_p for p in [0, R/2), binary32.
std::vector<float> rope_inv_freq(const RopeFreqConfig& c, int64_t R);

// cos and sin of the binary32 angle f32(pos) ⊗ theta.
void rope_cos_sin(float theta, int64_t pos, float* cos_out, float* sin_out);

// Tables in binary32 for the given positions (one row per position):
//   half layout [rows, R/2]; full = half-duplicated [rows, R] (column j holds pair j mod R/2).
void rope_table_half(const std::vector<float>& inv_freq, const std::vector<int64_t>& positions,
                     std::vector<float>* cos_out, std::vector<float>* sin_out);
void rope_table_full(const std::vector<float>& inv_freq, const std::vector<int64_t>& positions,
                     std::vector<float>* cos_out, std::vector<float>* sin_out);
// vLLM cos_sin_cache [max_pos, R]: cos in columns [0, R/2), sin in [R/2, R) (K5).
std::vector<float> rope_cos_sin_cache(const std::vector<float>& inv_freq, int64_t max_pos);

}  // namespace kcs
