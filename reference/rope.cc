// Reference RoPE (spec §1.3): binary64 with one BF16 cast per element. Products of a BF16 value
// with a BF16 or FP32 coefficient are exact in binary64, so each y_j is the exact value rounded
// once to binary64 and then once to BF16.
#include "kcs/kernels/rope.h"

#include <cmath>
#include <cstring>
#include <vector>

#include "kcs/backend.h"
#include "kcs/formats.h"
#include "kcs/status.h"
#include "reference/cast_points.h"
#include "reference/kernels.h"

namespace kcs {

bool parse_rope_mode(const std::string& s, RopeMode* out) {
  RopeMode m;
  if (s == "half") {
    m = RopeMode::half;
  } else if (s == "v2") {
    m = RopeMode::v2;
  } else if (s == "pair") {
    m = RopeMode::pair;
  } else {
    return false;
  }
  if (out) *out = m;
  return true;
}

namespace {

// R-HALF on an already (de-)interleaved slice xs.
void rope_half(const RopeSliceRef& s, const double* xs, double* y, double* abs_terms) {
  const int64_t h = s.R / 2;
  for (int64_t j = 0; j < s.R; ++j) {
    const int64_t col = s.half_table ? j % h : j;
    // rotate_half: the first half takes -x2 (x2 * -1.0), the second x1 + 0.0 (-0 -> +0).
    const double r = j < h ? -xs[j + h] : xs[j - h] + 0.0;
    const double p1 = xs[j] * static_cast<double>(s.cos[col]);
    const double p2 = r * static_cast<double>(s.sin[col]);
    y[j] = p1 + p2;
    if (abs_terms) abs_terms[j] = std::fabs(p1) + std::fabs(p2);
  }
}

}  // namespace

void rope_slice_reference(const RopeSliceRef& s, const float* x, double* y, double* abs_terms) {
  const int64_t R = s.R, h = R / 2;
  std::vector<double> xs(static_cast<size_t>(R));
  switch (s.mode) {
    case RopeMode::half:
      for (int64_t j = 0; j < R; ++j) xs[static_cast<size_t>(j)] = x[j];
      rope_half(s, xs.data(), y, abs_terms);
      return;
    case RopeMode::v2:
      // De-interleave (reshape [R/2, 2] + transpose): evens first, then odds.
      for (int64_t j = 0; j < h; ++j) {
        xs[static_cast<size_t>(j)] = x[2 * j];
        xs[static_cast<size_t>(h + j)] = x[2 * j + 1];
      }
      rope_half(s, xs.data(), y, abs_terms);
      return;
    case RopeMode::pair:
      for (int64_t p = 0; p < h; ++p) {
        const double x0 = x[2 * p], x1 = x[2 * p + 1];
        const double c = s.cos[p], sn = s.sin[p];
        const double a = x0 * c, b = x1 * sn, e = x0 * sn, f = x1 * c;
        y[2 * p] = a - b;
        y[2 * p + 1] = e + f;
        if (abs_terms) {
          abs_terms[2 * p] = std::fabs(a) + std::fabs(b);
          abs_terms[2 * p + 1] = std::fabs(e) + std::fabs(f);
        }
      }
      return;
  }
}

namespace ref {

Status rope(const Invocation& inv) {
  const Problem& p = *inv.problem;
  const Tensor& x = inv.in("x");
  const Tensor& cos_t = inv.in("cos");
  const Tensor& sin_t = inv.in("sin");
  Tensor& y = inv.out("y");
  const int64_t T = p.dim("T"), H = p.dim("H"), D = p.dim("D"), R = p.dim("R"), W = p.dim("W");
  RopeSliceRef s;
  if (!parse_rope_mode(p.attr("mode"), &s.mode)) throw Error("rope: bad mode " + p.attr("mode"));
  s.R = R;
  s.half_table = p.attr("table") == "half";
  const bool table_f32 = cos_t.dtype() == DType::fp32;
  const int64_t off = p.attr("slice") == "last" ? D - R : 0;
  double* pre = nullptr;
  double* bud = nullptr;
  if (inv.extras) {
    pre = (inv.extras->prerounding["y"] = Tensor(DType::fp64, y.shape())).data<double>();
    bud = (inv.extras->budget["y"] = Tensor(DType::fp64, y.shape())).data<double>();
  }
  std::vector<float> c(static_cast<size_t>(W)), sn(static_cast<size_t>(W)), xs(static_cast<size_t>(R));
  std::vector<double> out(static_cast<size_t>(R)), terms(static_cast<size_t>(R));
  s.cos = c.data();
  s.sin = sn.data();
  const uint16_t* xb = x.data<uint16_t>();
  uint16_t* yb = y.data<uint16_t>();
  for (int64_t t = 0; t < T; ++t) {
    for (int64_t j = 0; j < W; ++j) {
      const int64_t k = t * W + j;
      c[static_cast<size_t>(j)] = table_f32 ? cos_t.data<float>()[k] : bf16_to_float(cos_t.data<uint16_t>()[k]);
      sn[static_cast<size_t>(j)] = table_f32 ? sin_t.data<float>()[k] : bf16_to_float(sin_t.data<uint16_t>()[k]);
    }
    for (int64_t hd = 0; hd < H; ++hd) {
      const int64_t base = (t * H + hd) * D;
      // Columns outside the rope slice pass through (an exact fp32 round trip in the kernels).
      std::memcpy(yb + base, xb + base, static_cast<size_t>(D) * sizeof(uint16_t));
      if (pre)
        for (int64_t j = 0; j < D; ++j) pre[base + j] = bf16_to_float(xb[base + j]);
      if (bud)
        for (int64_t j = 0; j < D; ++j) bud[base + j] = 0;
      for (int64_t j = 0; j < R; ++j) xs[static_cast<size_t>(j)] = bf16_to_float(xb[base + off + j]);
      rope_slice_reference(s, xs.data(), out.data(), terms.data());
      for (int64_t j = 0; j < R; ++j) {
        const double v = out[static_cast<size_t>(j)];
        yb[base + off + j] = ref::bf16_at("rope.y_bf16", v);
        if (pre) pre[base + off + j] = v;
        // First-order bound of a binary32 evaluation (include/kcs/kernels/rope.h): the add rounds
        // once; BF16 x FP32 products round too, BF16 x BF16 products are exact.
        if (bud) bud[base + off + j] = std::fabs(v) + (table_f32 ? terms[static_cast<size_t>(j)] : 0.0);
      }
    }
  }
  return Status::Ok();
}

}  // namespace ref

// ---- Table builders -------------------------------------------------------------------------
// RoPE frequency and table builders (spec §1.3 "Frequencies"), following the official
// precompute_freqs_cis (O1, O3) in binary32. Each binary32 step below is computed from its exact
// binary32 operands in binary64 and rounded once: for +, −, ×, ⊘ that IS the correctly rounded
// binary32 result (binary64 has more than 2·24 + 2 bits, so the double rounding is innocuous); for
// pow, cos and sin it is the correctly rounded result up to the library's sub-ulp binary64 error.
// So the tables do not depend on the platform's binary32 libm.

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
