// Reference NVFP4 quantizer (spec §6.3): the staging kernel's binary32 and integer steps as
// written, one operation per statement. Spec §10.1 defines this pipeline in binary32, so the
// reference does not widen it to binary64.
#include "kcs/kernels/nvfp4_quant.h"

#include <string>
#include <vector>

#include "kcs/backend.h"
#include "reference/kernels.h"

namespace kcs {

void nvfp4_block_reference(const float* v, const Nvfp4Params& p, uint8_t* fp4, uint8_t* sf, float* w_pre,
                           float* scale_pre) {
  for (int64_t g = 0; g < kNvfp4Block / kNvfp4Group; ++g) {
    const float* vg = v + g * kNvfp4Group;
    const float scale = nvfp4_scale(nvfp4_amax(vg, kNvfp4Group), p.saturate_scale);
    const uint8_t e = nvfp4_e4m3_encode(scale);
    const float inv = nvfp4_inv_scale(nvfp4_e4m3_decode(e));
    sf[g] = e;
    if (scale_pre) scale_pre[g] = scale;
    uint8_t codes[kNvfp4Group];
    for (int64_t j = 0; j < kNvfp4Group; ++j) {
      const float w = vg[j] * inv;
      codes[j] = nvfp4_e2m1_code(w, p.ties);
      if (w_pre) {
        float c = w;
        if (c < -6.0f) c = -6.0f;
        if (c > 6.0f) c = 6.0f;
        w_pre[g * kNvfp4Group + j] = c;
      }
    }
    for (int64_t i = 0; i < kNvfp4Group / 2; ++i)
      fp4[g * kNvfp4Group / 2 + i] = pack_e2m1x2(codes[2 * i], codes[2 * i + 1]);
  }
}

void nvfp4_row_reference(const float* v, int64_t k, const Nvfp4Params& p, uint8_t* x_fp4, int32_t* x_sf,
                         float* w_pre, float* scale_pre) {
  for (int64_t kb = 0; kb < k / kNvfp4Block; ++kb) {
    uint8_t sf[kNvfp4Block / kNvfp4Group];
    nvfp4_block_reference(v + kb * kNvfp4Block, p, x_fp4 + kb * kNvfp4Block / 2, sf,
                          w_pre ? w_pre + kb * kNvfp4Block : nullptr,
                          scale_pre ? scale_pre + kb * (kNvfp4Block / kNvfp4Group) : nullptr);
    // x_sf[2 kb + h] = sum_g e_{4h+g} << 8g: byte g of the int32, little-endian.
    for (int h = 0; h < 2; ++h) {
      uint32_t word = 0;
      for (int g = 0; g < 4; ++g) word |= static_cast<uint32_t>(sf[4 * h + g]) << (8 * g);
      x_sf[2 * kb + h] = static_cast<int32_t>(word);
    }
  }
}

namespace ref {

Status nvfp4_quant(const Invocation& inv) {
  const Tensor& x = inv.in("x");
  Tensor& fp4 = inv.out("x_fp4");
  Tensor& sf = inv.out("x_sf");
  const Nvfp4Params q = nvfp4_params(*inv.problem);
  const int64_t m = x.rows(), k = x.row_len();
  float* w_pre = nullptr;
  float* s_pre = nullptr;
  if (inv.extras) {
    // One value per logical element of each output: the clamped w each E2M1 code rounds, and the
    // fp32 scale each UE4M3 byte encodes (binary32, as the contract is).
    w_pre = (inv.extras->prerounding["x_fp4"] = Tensor(DType::fp32, {m, k})).data<float>();
    s_pre = (inv.extras->prerounding["x_sf"] = Tensor(DType::fp32, {m, k / kNvfp4Group})).data<float>();
  }
  std::vector<float> row(static_cast<size_t>(k));
  for (int64_t r = 0; r < m; ++r) {
    nvfp4_widen(static_cast<const char*>(x.raw()) + r * k * static_cast<int64_t>(dtype_size(x.dtype())), x.dtype(), k,
                row.data());
    nvfp4_row_reference(row.data(), k, q, fp4.data<uint8_t>() + r * (k / 2), sf.data<int32_t>() + r * (k / 64),
                        w_pre ? w_pre + r * k : nullptr, s_pre ? s_pre + r * (k / kNvfp4Group) : nullptr);
  }
  return Status::Ok();
}

}  // namespace ref
}  // namespace kcs
