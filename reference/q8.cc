// Reference Q8 (spec §1.1): the binary32 steps as written, one operation per statement.
#include "kcs/kernels/q8.h"

#include <cmath>
#include <vector>

#include "kcs/backend.h"
#include "reference/cast_points.h"
#include "reference/kernels.h"

namespace kcs {

static int8_t q8_code(float y, Round rmode) {
  if (std::isnan(y)) return 0;
  const int32_t i = to_i32_sat(ref::round_int_at("q8.code_round", y, rmode));
  // INT32 -> FP16 (CAST_ROUND) -> INT8 (CAST_TRUNC, saturating), as the kernels do it.
  const uint16_t h = ref::fp16_at("q8.code_fp16", static_cast<double>(i), Round::rhaz);
  const float t = round_to_int(fp16_to_float(h), Round::trunc);
  // |i| > 65504 overflows FP16 to +-Inf (only with an overflowed s_q, out of contract); the
  // saturating FP16 -> INT8 cast maps it to 127 / -128.
  if (t >= 127.0f) return 127;
  if (t <= -128.0f) return -128;
  return static_cast<int8_t>(t);
}

float q8_row_reference(const float* v, int64_t n, const Q8Params& p, int8_t* codes, float* y) {
  float a = q8_amax(v, n);
  if (p.floor && !(a >= kQ8Floor) && !std::isnan(a)) a = kQ8Floor;
  if (a == 0.0f) {
    for (int64_t j = 0; j < n; ++j) {
      codes[j] = 0;
      if (y) y[j] = 0.0f;
    }
    return 0.0f;
  }
  const float s_q = 127.0f / a;
  for (int64_t j = 0; j < n; ++j) {
    const float yj = v[j] * s_q;
    if (y) y[j] = yj;
    codes[j] = q8_code(yj, p.rmode);
  }
  return 1.0f / s_q;
}

namespace ref {

Status q8(const Invocation& inv) {
  const Tensor& x = inv.in("x");
  Tensor& codes = inv.out("codes");
  Tensor& scale = inv.out("scale");
  const Q8Params q = q8_params(*inv.problem);
  const int64_t rows = x.rows(), n = x.row_len();
  float* pre = nullptr;
  if (inv.extras) {
    auto& y = inv.extras->prerounding["codes"] = Tensor(DType::fp32, x.shape());
    pre = y.data<float>();
  }
  std::vector<float> row(static_cast<size_t>(n));
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t j = 0; j < n; ++j) {
      const size_t k = static_cast<size_t>(r * n + j);
      row[static_cast<size_t>(j)] =
          x.dtype() == DType::bf16 ? bf16_to_float(x.data<uint16_t>()[k]) : x.data<float>()[k];
    }
    const float s = q8_row_reference(row.data(), n, q, codes.data<int8_t>() + r * n, pre ? pre + r * n : nullptr);
    if (scale.dtype() == DType::fp16)
      scale.data<uint16_t>()[r] = ref::fp16_at_f("q8.scale_fp16", s);
    else
      scale.data<float>()[r] = s;
  }
  return Status::Ok();
}

}  // namespace ref
}  // namespace kcs
