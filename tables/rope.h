// RoPE frequency configurations and cos/sin tables: shared by the fixture generators, tests and
// benches (not a backend).
#pragma once

#include <cstdint>
#include <vector>

namespace kcs {

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
