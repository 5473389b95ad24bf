// Reference INT8 GEMM + dequant (spec §1.2): exact integer sums, then the binary32 dequant one
// operation per statement (spec §10.1 exception: the dequant multiplies are defined in binary32).
#include "kcs/kernels/gemm_i8.h"

#include <cmath>
#include <algorithm>
#include <cstdlib>
#include <vector>

#include "kcs/backend.h"
#include "kcs/formats.h"
#include "reference/cast_points.h"
#include "reference/kernels.h"

namespace kcs {

float gemm_i8_dequant(int32_t acc, float s_row, float s_col) {
  const float f = ref::f32_at("gemm_i8.acc_f32", static_cast<double>(acc));  // f32(acc): nearest even, rounds once |acc| > 2^24
  const float g = f * s_row;                // row (activation) scale first ...
  return g * s_col;                         // ... then column (weight) scale
}

void gemm_i8_reference(const GemmI8Args& g, int64_t m0, int64_t m1, int64_t n0, int64_t n1, float* pre,
                       double* abs_dot) {
  // k outer, j inner: w is read along its rows (a k-inner loop strides through w by ldw). The
  // sums are exact integers, so the order of the additions changes no bit.
  std::vector<int64_t> sums(static_cast<size_t>(n1 - n0)), abs_sums(sums.size());
  for (int64_t i = m0; i < m1; ++i) {
    std::fill(sums.begin(), sums.end(), 0);
    std::fill(abs_sums.begin(), abs_sums.end(), 0);
    for (int64_t k = 0; k < g.k; ++k) {
      const int64_t a = g.a[i * g.lda + k];
      const int8_t* w = g.w + k * g.ldw + n0;
      for (size_t j = 0; j < sums.size(); ++j) {
        // |a·w| <= 2^14 and K < 2^17: the int64 sum is exact and fits int32 (checked below).
        const int64_t p = a * int64_t{w[j]};
        sums[j] += p;
        abs_sums[j] += p < 0 ? -p : p;
      }
    }
    for (int64_t j = n0; j < n1; ++j) {
      const int64_t sum = sums[static_cast<size_t>(j - n0)];
      if (sum < INT32_MIN || sum > INT32_MAX) throw Error("gemm_i8: int32 accumulator overflow (K too large)");
      const int32_t acc = static_cast<int32_t>(sum);
      const float y = gemm_i8_dequant(acc, g.s_row[i], g.s_col[j]);
      if (g.acc) g.acc[i * g.ldacc + j] = acc;
      if (g.y) {
        if (g.y_dtype == DType::bf16)
          static_cast<uint16_t*>(g.y)[i * g.ldy + j] = ref::bf16_at_f("gemm_i8.out_bf16", y);  // one rounding: y is binary32
        else
          static_cast<float*>(g.y)[i * g.ldy + j] = y;
      }
      if (pre) pre[i * g.n + j] = y;
      if (abs_dot) abs_dot[i * g.n + j] = static_cast<double>(abs_sums[static_cast<size_t>(j - n0)]);
    }
  }
}

namespace ref {

Status gemm_i8(const Invocation& inv) {
  const GemmI8Args g = gemm_i8_args(inv);
  float* pre = nullptr;
  double* abs_dot = nullptr;
  if (inv.extras) {
    const Shape shape{g.m, g.n};
    // The value just before the bf16 cast is binary32 by definition (spec §11: fp32 where the
    // contract is binary32); with fp32 storage nothing is rounded after it, so nothing is kept.
    if (g.y_dtype == DType::bf16) pre = (inv.extras->prerounding["y"] = Tensor(DType::fp32, shape)).data<float>();
    abs_dot = (inv.extras->budget["acc"] = Tensor(DType::fp64, shape)).data<double>();
  }
  gemm_i8_reference(g, 0, g.m, 0, g.n, pre, abs_dot);
  return Status::Ok();
}

}  // namespace ref
}  // namespace kcs
