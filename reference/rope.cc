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
  const RopeParams rp = rope_params(p);
  const int64_t T = rp.T, H = rp.H, D = rp.D, R = rp.R, W = rp.W;
  RopeSliceRef s;
  s.mode = rp.mode;
  s.R = R;
  s.half_table = rp.half_table;
  const bool table_f32 = cos_t.dtype() == DType::fp32;
  const int64_t off = rp.off;
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

}  // namespace kcs
