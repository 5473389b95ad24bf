// RoPE frequency and table builders (spec §1.3 "Frequencies"), following the official
// precompute_freqs_cis (O1, O3) in binary32. Each binary32 step below is computed from its exact
// binary32 operands in binary64 and rounded once: for +, −, ×, ⊘ that IS the correctly rounded
// binary32 result (binary64 has more than 2·24 + 2 bits, so the double rounding is innocuous); for
// pow, cos and sin it is the correctly rounded result up to the library's sub-ulp binary64 error.
// So the tables do not depend on the platform's binary32 libm.
#include "tables/rope.h"

#include <cmath>
#include <string>
#include <vector>

#include "kcs/status.h"

namespace kcs {

namespace {

float f32(double v) { return static_cast<float>(v); }

constexpr double kPi = 3.14159265358979323846;

// find_correction_dim: the pair index whose wavelength completes `rotations` turns over L0.
double correction_dim(double rotations, int64_t R, double base, int64_t L0) {
  return static_cast<double>(R) * std::log(static_cast<double>(L0) / (rotations * 2 * kPi)) / (2 * std::log(base));
}

}  // namespace

RopeFreqConfig rope_freq_v32() {
  RopeFreqConfig c;
  c.base = 10000;
  c.yarn = true;
  c.factor = 40;
  c.original_seq_len = 4096;
  c.beta_fast = 32;
  c.beta_slow = 1;
  return c;
}

RopeFreqConfig rope_freq_v4_compressed() {
  RopeFreqConfig c;
  c.base = 160000;
  c.yarn = true;
  c.factor = 16;
  c.original_seq_len = 65536;
  c.beta_fast = 32;
  c.beta_slow = 1;
  return c;
}

RopeFreqConfig rope_freq_v4_window() {
  RopeFreqConfig c;
  c.base = 10000;
  c.yarn = false;
  return c;
}

YarnRange rope_yarn_range(const RopeFreqConfig& c, int64_t R) {
  YarnRange r;
  r.low = static_cast<int64_t>(std::floor(correction_dim(c.beta_fast, R, c.base, c.original_seq_len)));
  r.high = static_cast<int64_t>(std::ceil(correction_dim(c.beta_slow, R, c.base, c.original_seq_len)));
  if (r.low < 0) r.low = 0;
  if (r.high > R - 1) r.high = R - 1;
  return r;
}

std::vector<float> rope_inv_freq(const RopeFreqConfig& c, int64_t R) {
  if (R < 2 || R % 2 != 0) throw Error("rope_inv_freq: R = " + std::to_string(R) + " must be even and >= 2");
  const int64_t h = R / 2;
  const float base = f32(c.base), fr = f32(static_cast<double>(R));
  std::vector<float> f(static_cast<size_t>(h));
  for (int64_t p = 0; p < h; ++p) {
    // 1.0 / (base ** (arange(0, R, 2, float32) / R))
    const float e = f32(static_cast<double>(f32(static_cast<double>(2 * p))) / fr);
    const float pw = f32(std::pow(static_cast<double>(base), static_cast<double>(e)));
    f[static_cast<size_t>(p)] = f32(1.0 / static_cast<double>(pw));
  }
  if (!c.yarn) return f;
  const YarnRange yr = rope_yarn_range(c, R);
  const double lo = static_cast<double>(yr.low);
  const double hi = yr.low == yr.high ? static_cast<double>(yr.high) + 0.001 : static_cast<double>(yr.high);
  const float span = f32(hi - lo), factor = f32(c.factor);
  for (int64_t p = 0; p < h; ++p) {
    // linear_ramp_factor: (arange(h, float32) - low) / (high - low), clamped to [0, 1]
    float ramp = f32(static_cast<double>(f32(static_cast<double>(p) - lo)) / static_cast<double>(span));
    ramp = ramp < 0.0f ? 0.0f : (ramp > 1.0f ? 1.0f : ramp);
    const float smooth = f32(1.0 - static_cast<double>(ramp));
    const float th = f[static_cast<size_t>(p)];
    // freqs / factor * (1 - smooth) + freqs * smooth, left to right
    const float a = f32(static_cast<double>(f32(static_cast<double>(th) / static_cast<double>(factor))) *
                        static_cast<double>(f32(1.0 - static_cast<double>(smooth))));
    const float b = f32(static_cast<double>(th) * static_cast<double>(smooth));
    f[static_cast<size_t>(p)] = f32(static_cast<double>(a) + static_cast<double>(b));
  }
  return f;
}

void rope_cos_sin(float theta, int64_t pos, float* cos_out, float* sin_out) {
  // torch.outer(arange(seqlen), freqs): the position is promoted to binary32 (exact below 2^24).
  const float angle = f32(static_cast<double>(f32(static_cast<double>(pos))) * static_cast<double>(theta));
  *cos_out = f32(std::cos(static_cast<double>(angle)));
  *sin_out = f32(std::sin(static_cast<double>(angle)));
}

void rope_table_half(const std::vector<float>& inv_freq, const std::vector<int64_t>& positions,
                     std::vector<float>* cos_out, std::vector<float>* sin_out) {
  const size_t h = inv_freq.size();
  cos_out->assign(positions.size() * h, 0.0f);
  sin_out->assign(positions.size() * h, 0.0f);
  for (size_t i = 0; i < positions.size(); ++i)
    for (size_t p = 0; p < h; ++p) rope_cos_sin(inv_freq[p], positions[i], &(*cos_out)[i * h + p], &(*sin_out)[i * h + p]);
}

void rope_table_full(const std::vector<float>& inv_freq, const std::vector<int64_t>& positions,
                     std::vector<float>* cos_out, std::vector<float>* sin_out) {
  const size_t h = inv_freq.size(), R = 2 * h;
  std::vector<float> ch, sh;
  rope_table_half(inv_freq, positions, &ch, &sh);
  cos_out->assign(positions.size() * R, 0.0f);
  sin_out->assign(positions.size() * R, 0.0f);
  for (size_t i = 0; i < positions.size(); ++i)
    for (size_t j = 0; j < R; ++j) {
      (*cos_out)[i * R + j] = ch[i * h + j % h];
      (*sin_out)[i * R + j] = sh[i * h + j % h];
    }
}

std::vector<float> rope_cos_sin_cache(const std::vector<float>& inv_freq, int64_t max_pos) {
  const size_t h = inv_freq.size(), R = 2 * h;
  std::vector<float> cache(static_cast<size_t>(max_pos) * R);
  for (int64_t pos = 0; pos < max_pos; ++pos)
    for (size_t p = 0; p < h; ++p)
      rope_cos_sin(inv_freq[p], pos, &cache[static_cast<size_t>(pos) * R + p], &cache[static_cast<size_t>(pos) * R + h + p]);
  return cache;
}

}  // namespace kcs
