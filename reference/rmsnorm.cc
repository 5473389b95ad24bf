// Reference RMSNorm (spec §1.4): y_j = γ_j · x_j / sqrt(Σ x_k²/n + eps) in binary64, one BF16 cast.
// Both forms (pypto, v4) are this formula; they differ only in γ's storage (see the header).
#include "kcs/kernels/rmsnorm.h"

#include <cmath>
#include <vector>

#include "kcs/backend.h"
#include "kcs/formats.h"
#include "reference/cast_points.h"
#include "reference/kernels.h"

namespace kcs {

double rmsnorm_row_reference(const float* x, const float* gamma, int64_t n, double eps, double* y, double* budget) {
  double ss = 0;  // x_k^2 is exact in binary64 (x has at most 24 significant bits)
  for (int64_t k = 0; k < n; ++k) ss += static_cast<double>(x[k]) * static_cast<double>(x[k]);
  const double r = 1.0 / std::sqrt(ss / static_cast<double>(n) + eps);
  const double e = (static_cast<double>(n) + 11.0) / 2.0;
  for (int64_t j = 0; j < n; ++j) {
    y[j] = static_cast<double>(gamma[j]) * (static_cast<double>(x[j]) * r);
    if (budget) budget[j] = e * std::fabs(y[j]);
  }
  return r;
}

namespace ref {

Status rmsnorm(const Invocation& inv) {
  const Tensor& x = inv.in("x");
  const Tensor& g = inv.in("gamma");
  Tensor& y = inv.out("y");
  const int64_t rows = x.rows(), n = x.row_len();
  const double eps = rmsnorm_params(*inv.problem).eps;
  std::vector<float> gamma(static_cast<size_t>(n)), row(static_cast<size_t>(n));
  for (int64_t j = 0; j < n; ++j)
    gamma[static_cast<size_t>(j)] =
        g.dtype() == DType::bf16 ? bf16_to_float(g.data<uint16_t>()[j]) : g.data<float>()[j];
  double* pre = nullptr;
  double* bud = nullptr;
  if (inv.extras) {
    pre = (inv.extras->prerounding["y"] = Tensor(DType::fp64, y.shape())).data<double>();
    bud = (inv.extras->budget["y"] = Tensor(DType::fp64, y.shape())).data<double>();
  }
  std::vector<double> out(static_cast<size_t>(n)), b(static_cast<size_t>(n));
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t j = 0; j < n; ++j) row[static_cast<size_t>(j)] = bf16_to_float(x.data<uint16_t>()[r * n + j]);
    rmsnorm_row_reference(row.data(), gamma.data(), n, eps, out.data(), b.data());
    for (int64_t j = 0; j < n; ++j) {
      const double v = out[static_cast<size_t>(j)];
      y.data<uint16_t>()[r * n + j] = ref::bf16_at("rmsnorm.y_bf16", v);
      if (pre) pre[r * n + j] = v;
      if (bud) bud[r * n + j] = b[static_cast<size_t>(j)];
    }
  }
  return Status::Ok();
}

}  // namespace ref
}  // namespace kcs
