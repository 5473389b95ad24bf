// Reference LayerNorm, K1 form (spec §1.4): the exact formula in binary64, one BF16 cast, and the
// budget B_j derived in include/kcs/kernels/layernorm.h.
#include "kcs/kernels/layernorm.h"

#include <cmath>
#include <vector>

#include "kcs/backend.h"
#include "kcs/formats.h"
#include "reference/cast_points.h"
#include "reference/kernels.h"

namespace kcs {

void layernorm_row_reference(const float* x, const float* gamma, const float* beta, int64_t n, double eps, double* y,
                             double* budget) {
  const double dn = static_cast<double>(n);
  double sum = 0, abs_sum = 0;
  for (int64_t k = 0; k < n; ++k) {
    sum += x[k];
    abs_sum += std::fabs(static_cast<double>(x[k]));
  }
  const double mu = sum / dn;
  double sq = 0;
  for (int64_t k = 0; k < n; ++k) {
    const double d = static_cast<double>(x[k]) - mu;
    sq += d * d;
  }
  const double den = std::sqrt(sq / dn + eps);
  const double m1_over_den = abs_sum / dn / den;
  for (int64_t j = 0; j < n; ++j) {
    const double z = (static_cast<double>(x[j]) - mu) / den;
    const double g = gamma[j];
    y[j] = z * g + static_cast<double>(beta[j]);
    if (budget) {
      budget[j] = (dn + 1.0) * (1.0 + std::fabs(z)) * std::fabs(g) * m1_over_den +
                  (dn + 13.0) / 2.0 * std::fabs(g * z) + std::fabs(y[j]);
    }
  }
}

namespace ref {

Status layernorm(const Invocation& inv) {
  const Tensor& x = inv.in("x");
  Tensor& y = inv.out("y");
  const int64_t rows = x.rows(), n = x.row_len();
  const double eps = inv.problem->attr_f64("eps");
  std::vector<float> gamma(static_cast<size_t>(n)), beta(static_cast<size_t>(n));
  for (int64_t j = 0; j < n; ++j) {
    gamma[static_cast<size_t>(j)] = bf16_to_float(inv.in("gamma").data<uint16_t>()[j]);
    beta[static_cast<size_t>(j)] = bf16_to_float(inv.in("beta").data<uint16_t>()[j]);
  }
  double* pre = nullptr;
  double* bud = nullptr;
  if (inv.extras) {
    pre = (inv.extras->prerounding["y"] = Tensor(DType::fp64, y.shape())).data<double>();
    bud = (inv.extras->budget["y"] = Tensor(DType::fp64, y.shape())).data<double>();
  }
  std::vector<double> out(static_cast<size_t>(n)), b(static_cast<size_t>(n));
  for (int64_t r = 0; r < rows; ++r) {
    layernorm_row_reference(x.data<float>() + r * n, gamma.data(), beta.data(), n, eps, out.data(), b.data());
    for (int64_t j = 0; j < n; ++j) {
      const double v = out[static_cast<size_t>(j)];
      y.data<uint16_t>()[r * n + j] = ref::bf16_at("layernorm.y_bf16", v);
      if (pre) pre[r * n + j] = v;
      if (bud) bud[r * n + j] = b[static_cast<size_t>(j)];
    }
  }
  return Status::Ok();
}

}  // namespace ref
}  // namespace kcs
