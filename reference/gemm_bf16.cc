// Reference BF16 GEMM (spec §0.3, §10.1): products and sums in binary64, k ascending, one
// rounding at the end from double straight to the output format.
#include "kcs/kernels/gemm_bf16.h"

#include <cmath>
#include <vector>

#include "kcs/backend.h"
#include "kcs/formats.h"
#include "reference/cast_points.h"
#include "reference/kernels.h"

namespace kcs {

Bf16Dot gemm_bf16_dot_reference(const uint16_t* a, const uint16_t* w, int64_t w_stride, int64_t k) {
  Bf16Dot d;
  for (int64_t kk = 0; kk < k; ++kk) {
    // Exact: a BF16 x BF16 product has 16 significant bits and fits binary64's exponent range.
    const double p = static_cast<double>(bf16_to_float(a[kk])) * static_cast<double>(bf16_to_float(w[kk * w_stride]));
    d.value += p;
    d.abs_dot += std::fabs(p);
  }
  return d;
}

void gemm_bf16_reference(const GemmBf16RefArgs& g, int64_t m0, int64_t m1, double* y, int64_t ldy, double* abs_dot,
                         int64_t ld_abs) {
  std::vector<double> wrow(static_cast<size_t>(g.n));
  for (int64_t i = m0; i < m1; ++i) {
    double* yr = y + (i - m0) * ldy;
    double* ar = abs_dot ? abs_dot + (i - m0) * ld_abs : nullptr;
    for (int64_t n = 0; n < g.n; ++n) {
      yr[n] = 0;
      if (ar) ar[n] = 0;
    }
    // Row-wise (k outer, n inner) so W is read along its rows; each element still sums its
    // products in ascending k, exactly as gemm_bf16_dot_reference does.
    for (int64_t kk = 0; kk < g.k; ++kk) {
      const double av = static_cast<double>(bf16_to_float(g.a[i * g.lda + kk]));
      const uint16_t* wr = g.w + kk * g.ldw;
      for (int64_t n = 0; n < g.n; ++n) wrow[static_cast<size_t>(n)] = static_cast<double>(bf16_to_float(wr[n]));
      for (int64_t n = 0; n < g.n; ++n) yr[n] += av * wrow[static_cast<size_t>(n)];
      if (ar)
        for (int64_t n = 0; n < g.n; ++n) ar[n] += std::fabs(av * wrow[static_cast<size_t>(n)]);
    }
  }
}

void gemm_bf16_store_rounded(double y, DType dtype, void* out) {
  switch (dtype) {
    case DType::fp32: *static_cast<float*>(out) = ref::f32_at("gemm_bf16.out_f32", y); return;
    case DType::bf16: *static_cast<uint16_t*>(out) = ref::bf16_at("gemm_bf16.out_bf16", y); return;
    case DType::fp16: *static_cast<uint16_t*>(out) = ref::fp16_at("gemm_bf16.out_fp16", y); return;
    default: throw Error(std::string("gemm_bf16: output dtype ") + dtype_name(dtype) + " is not fp32, bf16 or fp16");
  }
}

namespace ref {

Status gemm_bf16(const Invocation& inv) {
  const Tensor& a = inv.in("a");
  const Tensor& w = inv.in("w");
  Tensor& y = inv.out("y");
  const int64_t B = inv.dim("B"), M = inv.dim("M"), K = inv.dim("K"), N = inv.dim("N");
  double* pre = nullptr;
  double* budget = nullptr;
  if (inv.extras) {
    pre = (inv.extras->prerounding["y"] = Tensor(DType::fp64, y.shape())).data<double>();
    budget = (inv.extras->budget["y"] = Tensor(DType::fp64, y.shape())).data<double>();
  }
  std::vector<double> yv(static_cast<size_t>(M * N)), av(static_cast<size_t>(M * N));
  const size_t esize = dtype_size(y.dtype());
  for (int64_t b = 0; b < B; ++b) {
    GemmBf16RefArgs g;
    g.m = M;
    g.k = K;
    g.n = N;
    g.a = a.data<uint16_t>() + b * M * K;
    g.lda = K;
    g.w = w.data<uint16_t>() + b * K * N;
    g.ldw = N;
    gemm_bf16_reference(g, 0, M, yv.data(), N, av.data(), N);
    for (int64_t e = 0; e < M * N; ++e) {
      const size_t at = static_cast<size_t>(b * M * N + e);
      gemm_bf16_store_rounded(yv[static_cast<size_t>(e)], y.dtype(), static_cast<char*>(y.raw()) + at * esize);
      if (pre) pre[at] = yv[static_cast<size_t>(e)];
      if (budget) budget[at] = av[static_cast<size_t>(e)];
    }
  }
  return Status::Ok();
}

}  // namespace ref
}  // namespace kcs
