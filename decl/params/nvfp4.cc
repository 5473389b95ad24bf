// NVFP4 parameters (spec §6.3) and the staging coder's binary32 / integer steps, shared by the
// reference, the declarations' invariants and the tests (spec §10.1 defines them in binary32).
#include "kcs/kernels/nvfp4_quant.h"

#include <string>

#include "kcs/decl.h"
#include "kcs/status.h"

namespace kcs {

void nvfp4_widen(const void* x, DType dtype, int64_t n, float* v) {
  for (int64_t j = 0; j < n; ++j) {
    switch (dtype) {
      case DType::bf16: v[j] = bf16_to_float(static_cast<const uint16_t*>(x)[j]); break;
      case DType::fp16: v[j] = fp16_to_float(static_cast<const uint16_t*>(x)[j]); break;
      case DType::fp32: v[j] = static_cast<const float*>(x)[j]; break;
      default: throw Error(std::string("nvfp4: input dtype ") + dtype_name(dtype) + " is not bfloat16/float16/float32");
    }
  }
}

float nvfp4_amax(const float* v, int64_t n) {
  uint32_t best = 0;
  for (int64_t j = 0; j < n; ++j) {
    const uint32_t b = f32_bits(v[j]) & 0x7FFFFFFFu;
    if (b > best) best = b;
  }
  return f32_from_bits(best);
}

float nvfp4_scale(float amax, bool saturate_scale) {
  float a = amax;
  if (a < kNvfp4AmaxFloor) a = kNvfp4AmaxFloor;  // tl.maximum(amax, 1e-4); false for NaN
  float scale = a / 6.0f;
  if (saturate_scale && scale > kNvfp4ScaleMax) scale = kNvfp4ScaleMax;  // NaN stays NaN
  return scale;
}

namespace {

// x >> s and 1 << s as mathematical operations on non-negative values (s >= 32 gives 0).
uint32_t shr(uint32_t x, int s) { return s >= 32 ? 0u : x >> s; }
uint32_t low_mask(int s) { return s >= 32 ? 0xFFFFFFFFu : (uint32_t{1} << s) - 1u; }

}  // namespace

uint8_t nvfp4_e4m3_encode(float scale) {
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
    m += guard & (sticky | (m & 1u));
    mant = static_cast<int32_t>(m);
    exp = er;
  } else {
    // Subnormal: the implicit bit inserted, shifted right by sh + 20 with sh = 1 - er.
    const int sh = 1 - er;
    const uint32_t mw = 0x800000u | f;
    uint32_t m = shr(mw, sh + 20) & 0x7u;
    const uint32_t guard = shr(mw, sh + 19) & 1u;
    const uint32_t sticky = (mw & low_mask(sh + 19)) != 0 ? 1u : 0u;
    m += guard & (sticky | (m & 1u));
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

float nvfp4_e4m3_decode(uint8_t code) {
  const int32_t exp = (code >> 3) & 0xF;
  const int32_t mant = code & 0x7;
  if (exp == 0) return (static_cast<float>(mant) / 8.0f) * 0.015625f;
  int32_t e = exp - 7;
  if (e < -126) e = -126;
  const float two_pow = f32_from_bits(static_cast<uint32_t>(e + 127) << 23);
  return (1.0f + static_cast<float>(mant) / 8.0f) * two_pow;
}

float nvfp4_inv_scale(float s_hat) {
  const float d = s_hat < kNvfp4InvFloor ? kNvfp4InvFloor : s_hat;  // ŝ is never NaN
  return 1.0f / d;
}

uint8_t nvfp4_e2m1_code(float w, E2m1Ties ties) {
  // clamp(w, -6, 6), written so that a NaN w stays NaN (kcs definition, see the header).
  float c = w;
  if (c < -6.0f) c = -6.0f;
  if (c > 6.0f) c = 6.0f;
  const float a = c < 0.0f ? -c : c;  // |c| without touching NaN or the sign of zero's meaning
  uint8_t idx = 0;
  if (ties == E2m1Ties::away) {
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

Nvfp4Params nvfp4_params(const Problem& p) {
  Nvfp4Params q;
  const std::string& t = p.attr("e2m1_ties");
  if (t == "away")
    q.ties = E2m1Ties::away;
  else if (t == "even")
    q.ties = E2m1Ties::even;
  else
    throw Error("bad e2m1_ties " + t);
  q.saturate_scale = p.attr("saturate_scale") == "1";
  return q;
}

}  // namespace kcs
