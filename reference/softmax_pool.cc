// Reference gated softmax pooling (spec §7.4): binary64 max / exp / sums in position order,
// one fp32 store at the end (spec §10.1; "exp in double").
#include "kcs/kernels/softmax_pool.h"

#include <cfloat>
#include <cmath>
#include <vector>

#include "kcs/backend.h"
#include "kcs/formats.h"
#include "reference/cast_points.h"
#include "reference/kernels.h"

namespace kcs {

PoolColumn softmax_pool_column_reference(const double* z, int64_t zs, const double* v, int64_t vs, int64_t M) {
  PoolColumn r;
  // fmax returns the other operand for a NaN, so NaN logits never become the max; the floor
  // -FLT_MAX (not -inf) makes an all -inf column give exp(-inf) = 0 weights and 0/0 = NaN.
  double mx = -static_cast<double>(FLT_MAX);
  for (int64_t q = 0; q < M; ++q) mx = std::fmax(mx, z[q * zs]);
  double den = 0, acc = 0, abs_acc = 0;
  for (int64_t q = 0; q < M; ++q) {
    const double e = std::exp(z[q * zs] - mx);
    den += e;
    acc += e * v[q * vs];
    abs_acc += e * std::fabs(v[q * vs]);
  }
  r.mx = mx;
  r.den = den;
  r.pooled = acc / den;
  r.abs_wv = abs_acc / den;
  return r;
}

namespace ref {

Status softmax_pool(const Invocation& inv) {
  const Tensor& logits = inv.in("logits");
  const Tensor& values = inv.in("values");
  Tensor& pooled = inv.out("pooled");
  const int64_t nb = inv.dim("n_blocks"), M = inv.dim("M"), C = inv.dim("C");
  double *pre = nullptr, *budget = nullptr, *mx = nullptr, *den = nullptr;
  if (inv.extras) {
    const Shape s{nb, C};
    pre = (inv.extras->prerounding["pooled"] = Tensor(DType::fp64, s)).data<double>();
    budget = (inv.extras->budget["pooled"] = Tensor(DType::fp64, s)).data<double>();
    mx = (inv.extras->intermediates["max"] = Tensor(DType::fp64, s)).data<double>();
    den = (inv.extras->intermediates["den"] = Tensor(DType::fp64, s)).data<double>();
  }
  const bool bf16 = values.dtype() == DType::bf16;
  std::vector<double> z(static_cast<size_t>(M * C)), v(static_cast<size_t>(M * C));
  for (int64_t b = 0; b < nb; ++b) {
    // The block's window widened to binary64 (exact for fp32 and BF16).
    for (int64_t k = 0; k < M * C; ++k) {
      const int64_t g = b * M * C + k;
      z[static_cast<size_t>(k)] = logits.data<float>()[g];
      v[static_cast<size_t>(k)] = bf16 ? bf16_to_float(values.data<uint16_t>()[g]) : values.data<float>()[g];
    }
    for (int64_t c = 0; c < C; ++c) {
      const PoolColumn r = softmax_pool_column_reference(z.data() + c, C, v.data() + c, C, M);
      const int64_t o = b * C + c;
      pooled.data<float>()[o] = ref::f32_at("softmax_pool.pooled_f32", r.pooled);
      if (pre) {
        pre[o] = r.pooled;
        budget[o] = r.abs_wv;
        mx[o] = r.mx;
        den[o] = r.den;
      }
    }
  }
  return Status::Ok();
}

}  // namespace ref
}  // namespace kcs
