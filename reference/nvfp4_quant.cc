// Reference NVFP4 quantizer (spec §6.3): the staging kernel's binary32 and integer steps as
// written, one operation per statement. Spec §10.1 defines this pipeline in binary32, so the
// reference does not widen it to binary64.
#include "kcs/kernels/nvfp4_quant.h"

#include <string>
#include <vector>

#include "kcs/backend.h"
#include "reference/cast_points.h"
#include "reference/kernels.h"

namespace kcs {

// The two rounding steps of the coder are the reference's own (decl/params/nvfp4.cc has the plain
// ones the optimized code uses): each rounds through a named cast point, so the mutants of
// conformance/mutants can change one of them.
namespace {

// x >> s and 1 << s as mathematical operations on non-negative values (s >= 32 gives 0).
uint32_t shr(uint32_t x, int s) { return s >= 32 ? 0u : x >> s; }
uint32_t low_mask(int s) { return s >= 32 ? 0xFFFFFFFFu : (uint32_t{1} << s) - 1u; }

uint8_t e4m3_encode_at_site(float scale) {
  const Round rm = ref::cast_round("nvfp4.scale_e4m3", Round::rint);
  // The round-up condition of mode rm from the guard, sticky and kept-lsb bits.
  auto up = [rm](uint32_t guard, uint32_t sticky, uint32_t lsb) -> uint32_t {
    if (rm == Round::trunc) return 0u;
    return rm == Round::rhaz ? guard : guard & (sticky | lsb);
  };
  const uint32_t bits = f32_bits(scale);
  const int32_t e = static_cast<int32_t>((bits >> 23) & 0xFFu);
  const uint32_t f = bits & 0x7FFFFFu;
  const int32_t er = e - 120;  // FP32 bias 127 -> E4M3 bias 7
  int32_t mant, exp;
  if (er >= 1) {
    // Normal: the top 3 fraction bits, nearest-even on guard bit 19 and sticky bits 18..0.
    uint32_t m = f >> 20;
    const uint32_t guard = (f >> 19) & 1u;
    const uint32_t sticky = (f & 0x7FFFFu) != 0 ? 1u : 0u;
    m += up(guard, sticky, m & 1u);
    mant = static_cast<int32_t>(m);
    exp = er;
  } else {
    // Subnormal: the implicit bit inserted, shifted right by sh + 20 with sh = 1 - er.
    const int sh = 1 - er;
    const uint32_t mw = 0x800000u | f;
    uint32_t m = shr(mw, sh + 20) & 0x7u;
    const uint32_t guard = shr(mw, sh + 19) & 1u;
    const uint32_t sticky = (mw & low_mask(sh + 19)) != 0 ? 1u : 0u;
    m += up(guard, sticky, m & 1u);
    mant = static_cast<int32_t>(m);
    exp = 0;
  }
  if (mant >= 8) {  // the rounding carried out of the mantissa
    mant = 0;
    exp += 1;
  }
  if (exp < 0) exp = 0;
  if (exp > 15) exp = 15;  // clamped; the mantissa is kept, not saturated
  return static_cast<uint8_t>((exp << 3) | mant);
}

uint8_t e2m1_code_at_site(float w, E2m1Ties ties) {
  // clamp(w, -6, 6), written so that a NaN w stays NaN (kcs definition, see the header).
  float c = w;
  if (c < -6.0f) c = -6.0f;
  if (c > 6.0f) c = 6.0f;
  const float a = c < 0.0f ? -c : c;  // |c| without touching NaN or the sign of zero's meaning
  uint8_t idx = 0;
  const Round rm = ref::cast_round("nvfp4.code_e2m1", ties == E2m1Ties::away ? Round::rhaz : Round::rint);
  if (rm == Round::trunc) {
    idx = static_cast<uint8_t>((a >= 0.5f) + (a >= 1.0f) + (a >= 1.5f) + (a >= 2.0f) + (a >= 3.0f) + (a >= 4.0f) +
                               (a >= 6.0f));
  } else if (rm == Round::rhaz) {
    idx = static_cast<uint8_t>((a >= 0.25f) + (a >= 0.75f) + (a >= 1.25f) + (a >= 1.75f) + (a >= 2.5f) +
                               (a >= 3.5f) + (a >= 5.0f));
  } else {
    // Ties to the even code: the midpoints below an odd code (0.25, 1.25, 2.5, 5) round down.
    idx = static_cast<uint8_t>((a > 0.25f) + (a >= 0.75f) + (a > 1.25f) + (a >= 1.75f) + (a > 2.5f) +
                               (a >= 3.5f) + (a > 5.0f));
  }
  const uint8_t sign = c < 0.0f ? 0x8 : 0x0;
  return static_cast<uint8_t>(sign | idx);
}

}  // namespace

void nvfp4_block_reference(const float* v, const Nvfp4Params& p, uint8_t* fp4, uint8_t* sf, float* w_pre,
                           float* scale_pre) {
  for (int64_t g = 0; g < kNvfp4Block / kNvfp4Group; ++g) {
    const float* vg = v + g * kNvfp4Group;
    const float scale = nvfp4_scale(nvfp4_amax(vg, kNvfp4Group), p.saturate_scale);
    const uint8_t e = e4m3_encode_at_site(scale);
    const float inv = nvfp4_inv_scale(nvfp4_e4m3_decode(e));
    sf[g] = e;
    if (scale_pre) scale_pre[g] = scale;
    uint8_t codes[kNvfp4Group];
    for (int64_t j = 0; j < kNvfp4Group; ++j) {
      const float w = vg[j] * inv;
      codes[j] = e2m1_code_at_site(w, p.ties);
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
