// Unit tests of the NVFP4 coders (include/kcs/kernels/nvfp4_quant.h, spec §6.3): the staging
// E4M3 encode / decode and the E2M1 threshold coder, their equivalence with the generic coders of
// kcs/formats.h where the spec says they agree (and exactly where they do not), and the verified
// behaviours of spec §6.4 and the vectors of §10.6 through the block / row reference.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "kcs/formats.h"
#include "kcs/kernels/nvfp4_quant.h"
#include "reference/primitives.h"

namespace kcs {
namespace {

float f(uint32_t bits) { return f32_from_bits(bits); }

// Every decision of the staging encode depends on the exponent field, the fraction bits down to
// the guard bit and whether anything below it is set. Walking every exponent with every value of
// the top 10 fraction bits and low parts {0, 1, a middle pattern, all ones} reaches every one of
// those combinations for both paths (the subnormal guard bit is at most fraction bit 19 here).
template <class Fn>
void for_structured_floats(Fn fn) {
  static const uint32_t kLow[] = {0u, 1u, 0x2A5A5u, 0x1FFFu, 0x1000u};
  for (uint32_t e = 0; e < 256; ++e)
    for (uint32_t top = 0; top < 1024; ++top)
      for (uint32_t low : kLow) fn((e << 23) | (top << 13) | low);
}

TEST(Nvfp4E4m3, MatchesRoundedE4m3UpToScale464) {
  // Spec §6.4: for scale <= 464 (amax <= 2784) the staging encode is the correctly rounded
  // nearest-even E4M3 with saturation to 448 (464 is a tie between 448 and 480: even -> 448).
  int64_t checked = 0;
  for_structured_floats([&](uint32_t bits) {
    const float s = f(bits);
    if (!(s <= 464.0f)) return;
    ASSERT_EQ(nvfp4_e4m3_encode(s), e4m3_from_float(s, Round::rint, true)) << "scale bits 0x" << std::hex << bits;
    ++checked;
  });
  std::mt19937 gen(7);
  std::uniform_real_distribution<double> lg(std::log(1e-4 / 6), std::log(464.0));
  for (int i = 0; i < 2000000; ++i) {
    const float s = static_cast<float>(std::exp(lg(gen)));
    ASSERT_EQ(nvfp4_e4m3_encode(s), e4m3_from_float(s, Round::rint, true)) << s;
  }
  EXPECT_GT(checked, 600000);
}

TEST(Nvfp4E4m3, OverflowIsTheStagingKernels) {
  // 464 < scale <= 480 -> 0x7F, which the staging decoder reads as 480 (OCP: NaN).
  EXPECT_EQ(nvfp4_e4m3_encode(std::nextafter(464.0f, 1e9f)), 0x7F);
  EXPECT_EQ(nvfp4_e4m3_encode(480.0f), 0x7F);
  EXPECT_EQ(nvfp4_e4m3_decode(0x7F), 480.0f);
  // Above 480 the exponent clamps to 15 and the rounded mantissa bits stay (spec §6.4 examples).
  EXPECT_EQ(nvfp4_e4m3_decode(nvfp4_e4m3_encode(3000.0f / 6.0f)), 256.0f);
  EXPECT_EQ(nvfp4_e4m3_decode(nvfp4_e4m3_encode(5000.0f / 6.0f)), 416.0f);
  EXPECT_EQ(nvfp4_e4m3_decode(nvfp4_e4m3_encode(1e5f / 6.0f)), 256.0f);
  EXPECT_EQ(nvfp4_e4m3_encode(std::numeric_limits<float>::infinity()), 0x78);
  // Every scale above 480 gives an exponent-15 code; bit 7 is never set.
  for_structured_floats([&](uint32_t bits) {
    const float s = f(bits);
    const uint8_t e = nvfp4_e4m3_encode(s);
    ASSERT_EQ(e & 0x80, 0) << std::hex << bits;
    if (s > 480.0f) {
      ASSERT_EQ(e >> 3, 15) << std::hex << bits;
    }
  });
}

TEST(Nvfp4E4m3, TiesGoToEven) {
  EXPECT_EQ(nvfp4_e4m3_encode(1.0625f), 0x38);  // 1 + 1/16: between 1.0 (even) and 1.125
  EXPECT_EQ(nvfp4_e4m3_encode(1.1875f), 0x3A);  // between 1.125 and 1.25 (even)
  EXPECT_EQ(nvfp4_e4m3_encode(0x1p-10f), 0x00);  // half the smallest subnormal: even -> 0
  EXPECT_EQ(nvfp4_e4m3_encode(std::nextafter(0x1p-10f, 1.0f)), 0x01);
  EXPECT_EQ(nvfp4_e4m3_encode(3.0f * 0x1p-10f), 0x02);  // 1.5 * 2^-9: tie -> 2 * 2^-9
  EXPECT_EQ(nvfp4_e4m3_encode(15.0f * 0x1p-10f), 0x08);  // 7.5 * 2^-9 rounds to 8 * 2^-9 = 2^-6
}

TEST(Nvfp4E4m3, DecodeIsE4m3ExceptThe0x7fCode) {
  for (int c = 0; c < 128; ++c) {
    if (c == 0x7F) continue;
    EXPECT_EQ(f32_bits(nvfp4_e4m3_decode(static_cast<uint8_t>(c))), f32_bits(e4m3_to_float(static_cast<uint8_t>(c))))
        << c;
  }
}

TEST(Nvfp4E4m3, ScaleFloorAndSaturation) {
  // The 1e-4 floor never yields a nonzero scale byte (spec §6.4).
  EXPECT_EQ(nvfp4_e4m3_encode(nvfp4_scale(0.0f, false)), 0x00);
  EXPECT_EQ(f32_bits(nvfp4_scale(0.0f, false)), f32_bits(kNvfp4AmaxFloor / 6.0f));
  // saturate_scale clamps the fp32 scale, so everything >= 448 encodes to 0x7E.
  for (float amax : {2688.0f, 2784.0f, 2785.0f, 2880.0f, 3000.0f, 5000.0f, 1e5f, 3e38f,
                     std::numeric_limits<float>::infinity()})
    EXPECT_EQ(nvfp4_e4m3_encode(nvfp4_scale(amax, true)), 0x7E) << amax;
  // ... and with it the encode equals the saturating formats.h coder for every finite amax.
  for_structured_floats([&](uint32_t bits) {
    const float a = f(bits);
    if (!(a < std::numeric_limits<float>::infinity())) return;
    const float s = nvfp4_scale(a, true);
    ASSERT_EQ(nvfp4_e4m3_encode(s), e4m3_from_float(s, Round::rint, true)) << std::hex << bits;
  });
  // A NaN amax stays NaN through the floor and the clamp (kcs definition).
  const float nan = std::numeric_limits<float>::quiet_NaN();
  EXPECT_TRUE(std::isnan(nvfp4_scale(nan, false)));
  EXPECT_TRUE(std::isnan(nvfp4_scale(nan, true)));
}

// kcs::e2m1_from_float rounds the same way except for -0.0 (formats: 0x8, staging sign rule
// w < 0: 0x0) and NaN (formats: 0x7, staging count of met thresholds: 0x0).
TEST(Nvfp4E2m1, MatchesFormatsCoderExceptNegativeZeroAndNan) {
  int64_t checked = 0;
  for (uint32_t sign : {0u, 0x80000000u})
    for (uint32_t e = 0; e < 256; ++e)
      for (uint32_t top = 0; top < 64; ++top)
        for (uint32_t low : {0u, 1u, 0x5A5A5u, 0x1FFFFu}) {
          const uint32_t bits = sign | (e << 23) | (top << 17) | low;
          const float w = f(bits);
          if (std::isnan(w)) {
            ASSERT_EQ(nvfp4_e2m1_code(w, E2m1Ties::away), 0x0);
            ASSERT_EQ(nvfp4_e2m1_code(w, E2m1Ties::even), 0x0);
            ASSERT_EQ(e2m1_from_float(w, Round::rhaz), 0x7);
            continue;
          }
          if (bits == 0x80000000u) {
            ASSERT_EQ(nvfp4_e2m1_code(w, E2m1Ties::away), 0x0);
            ASSERT_EQ(nvfp4_e2m1_code(w, E2m1Ties::even), 0x0);
            ASSERT_EQ(e2m1_from_float(w, Round::rint), 0x8);
            continue;
          }
          ASSERT_EQ(nvfp4_e2m1_code(w, E2m1Ties::away), e2m1_from_float(w, Round::rhaz)) << std::hex << bits;
          ASSERT_EQ(nvfp4_e2m1_code(w, E2m1Ties::even), e2m1_from_float(w, Round::rint)) << std::hex << bits;
          ++checked;
        }
  EXPECT_GT(checked, 100000);
}

TEST(Nvfp4E2m1, TieDirections) {
  // Spec §6.4: the staging thresholds round ties up in magnitude; nearest-even differs at
  // 0.25, 1.25, 2.5 and 5 and agrees at 0.75, 1.75 and 3.5.
  const float t[] = {0.25f, 0.75f, 1.25f, 1.75f, 2.5f, 3.5f, 5.0f};
  const uint8_t away[] = {1, 2, 3, 4, 5, 6, 7};
  const uint8_t even[] = {0, 2, 2, 4, 4, 6, 6};
  for (int i = 0; i < 7; ++i) {
    EXPECT_EQ(nvfp4_e2m1_code(t[i], E2m1Ties::away), away[i]) << t[i];
    EXPECT_EQ(nvfp4_e2m1_code(t[i], E2m1Ties::even), even[i]) << t[i];
    EXPECT_EQ(nvfp4_e2m1_code(-t[i], E2m1Ties::away), 0x8 | away[i]) << -t[i];
    EXPECT_EQ(nvfp4_e2m1_code(-t[i], E2m1Ties::even), 0x8 | even[i]) << -t[i];
  }
  EXPECT_EQ(nvfp4_e2m1_code(-0.1f, E2m1Ties::away), 0x8);  // negative, rounds to 0: code -0
  EXPECT_EQ(nvfp4_e2m1_code(-0.0f, E2m1Ties::away), 0x0);  // sign = (w < 0)
  EXPECT_EQ(nvfp4_e2m1_code(std::numeric_limits<float>::infinity(), E2m1Ties::away), 0x7);
  EXPECT_EQ(nvfp4_e2m1_code(-std::numeric_limits<float>::infinity(), E2m1Ties::even), 0xF);
  EXPECT_EQ(nvfp4_e2m1_code(1e30f, E2m1Ties::even), 0x7);  // clamped to 6
}

// One block of 8 groups from 8 group vectors.
struct Block {
  float v[128];
  uint8_t fp4[64];
  uint8_t sf[8];
  void run(const Nvfp4Params& p) { nvfp4_block_reference(v, p, fp4, sf); }
  uint8_t code(int j) const { return static_cast<uint8_t>((j % 2) ? fp4[j / 2] >> 4 : fp4[j / 2] & 0xF); }
};

Block block_of(float fill) {
  Block b;
  for (float& x : b.v) x = fill;
  return b;
}

Nvfp4Params params(E2m1Ties ties, bool sat = false) {
  Nvfp4Params p;
  p.ties = ties;
  p.saturate_scale = sat;
  return p;
}

TEST(Nvfp4Block, TieVectorOfSpec10_6) {
  // amax 6: scale byte 0x38, ŝ = 1, inv = 1.
  const float in[] = {6.0f, 0.25f, 1.25f, 2.5f, 5.0f, -0.25f, -0.1f};
  const uint8_t away[] = {0x7, 0x1, 0x3, 0x5, 0x7, 0x9, 0x8};
  const uint8_t even[] = {0x7, 0x0, 0x2, 0x4, 0x6, 0x8, 0x8};
  Block b = block_of(0.0f);
  for (int j = 0; j < 7; ++j) b.v[j] = in[j];
  b.run(params(E2m1Ties::away));
  EXPECT_EQ(b.sf[0], 0x38);
  for (int j = 0; j < 7; ++j) EXPECT_EQ(b.code(j), away[j]) << "away, element " << j;
  b.run(params(E2m1Ties::even));
  for (int j = 0; j < 7; ++j) EXPECT_EQ(b.code(j), even[j]) << "even, element " << j;
}

TEST(Nvfp4Block, E4m3TieAmaxes) {
  Block b = block_of(0.5f);
  b.v[3] = 6.375f;    // group 0: scale 1.0625 -> 0x38
  b.v[20] = -7.125f;  // group 1: scale 1.1875 -> 0x3A
  b.run(params(E2m1Ties::away));
  EXPECT_EQ(b.sf[0], 0x38);
  EXPECT_EQ(b.sf[1], 0x3A);
}

TEST(Nvfp4Block, ZeroAndUnderflowGroups) {
  Block b = block_of(0.0f);
  b.run(params(E2m1Ties::away));
  for (int g = 0; g < 8; ++g) EXPECT_EQ(b.sf[g], 0x00);
  for (int j = 0; j < 64; ++j) EXPECT_EQ(b.fp4[j], 0x00);
  // amax <= 6 * 2^-10 -> scale code 0, inv = 1/1e-6: every code saturates or is 0, so the block
  // dequantizes to exactly 0; just above, the scale is the smallest subnormal.
  b = block_of(0.0f);
  for (int j = 0; j < 16; ++j) b.v[j] = (j % 2 ? -1.0f : 1.0f) * 0.005859375f * static_cast<float>(j) / 15.0f;
  b.v[16] = std::nextafter(0.005859375f, 1.0f);
  b.v[32] = 5e-5f;  // below the 1e-4 floor
  b.run(params(E2m1Ties::away));
  EXPECT_EQ(b.sf[0], 0x00);
  EXPECT_EQ(b.sf[1], 0x01);
  EXPECT_EQ(b.sf[2], 0x00);
  EXPECT_EQ(b.code(0), 0x0);
  EXPECT_EQ(b.code(15), 0xF);  // -amax * 1e6 -> -6
  for (int j = 0; j < 16; ++j) EXPECT_EQ(nvfp4_e4m3_decode(b.sf[0]) * e2m1_to_float(b.code(j)), 0.0f);
  EXPECT_EQ(b.code(32), 0x7);  // 5e-5 * 1e6 saturates
}

TEST(Nvfp4Block, OverflowAmaxes) {
  struct Case {
    float amax;
    uint8_t staging, saturated;
  };
  // 2688 -> 448; 2784 -> scale 464, a tie that goes to 448; 2785 -> 0x7F (ŝ 480); 3000 -> ŝ 256.
  const Case cases[] = {{2688.0f, 0x7E, 0x7E}, {2784.0f, 0x7E, 0x7E}, {2785.0f, 0x7F, 0x7E}, {3000.0f, 0x78, 0x7E}};
  for (const Case& c : cases) {
    Block b = block_of(1.0f);
    b.v[5] = c.amax;
    b.run(params(E2m1Ties::away));
    EXPECT_EQ(b.sf[0], c.staging) << c.amax;
    b.run(params(E2m1Ties::away, true));
    EXPECT_EQ(b.sf[0], c.saturated) << c.amax;
  }
  // With ŝ = 256 the amax element saturates at 6: the gross error of the staging mode.
  Block b = block_of(1.0f);
  b.v[5] = 3000.0f;
  b.run(params(E2m1Ties::away));
  EXPECT_EQ(b.code(5), 0x7);
  EXPECT_EQ(nvfp4_e4m3_decode(b.sf[0]) * e2m1_to_float(b.code(5)), 1536.0f);
}

TEST(Nvfp4Block, InfinityAndNan) {
  const float inf = std::numeric_limits<float>::infinity();
  Block b = block_of(1.0f);
  b.v[7] = inf;
  b.v[40] = -inf;
  b.run(params(E2m1Ties::away));
  EXPECT_EQ(b.sf[0], 0x78);  // ŝ = 256 (spec §6.4)
  EXPECT_EQ(b.code(7), 0x7);
  EXPECT_EQ(b.sf[2], 0x78);
  EXPECT_EQ(b.code(40), 0xF);
  b.run(params(E2m1Ties::away, true));
  EXPECT_EQ(b.sf[0], 0x7E);
  EXPECT_EQ(b.code(7), 0x7);
  // NaN (kcs definition): the group scale is encoded from the quieted NaN's bits (canonical
  // qNaN: exponent clamp 15, mantissa 4 -> 0x7C) and the NaN element's code is 0x0.
  b = block_of(1.0f);
  b.v[3] = std::numeric_limits<float>::quiet_NaN();
  b.v[4] = -2.0f;
  b.run(params(E2m1Ties::away));
  EXPECT_EQ(b.sf[0], 0x7C);
  EXPECT_EQ(b.code(3), 0x0);
  EXPECT_EQ(b.code(4), 0x8);  // -2 / 384 rounds to -0
  b.run(params(E2m1Ties::even, true));
  EXPECT_EQ(b.sf[0], 0x7C);  // the clamp keeps NaN
  EXPECT_EQ(b.code(3), 0x0);
}

TEST(Nvfp4Row, PackingLayout) {
  // Low nibble = even element; x_sf word h of block kb = bytes of groups 4h..4h+3, little-endian.
  std::vector<float> v(256, 0.0f);
  for (int g = 0; g < 16; ++g) v[static_cast<size_t>(g * 16)] = 6.0f * static_cast<float>(g + 1);  // scale g+1
  v[1] = 3.0f;  // element 1 of group 0 (inv 1): code 5 in the high nibble of byte 0
  v[2] = -1.0f;  // element 2: code 0xA in the low nibble of byte 1
  std::vector<uint8_t> fp4(128);
  std::vector<int32_t> sf(4);
  nvfp4_row_reference(v.data(), 256, Nvfp4Params{}, fp4.data(), sf.data());
  EXPECT_EQ(fp4[0], 0x57);
  EXPECT_EQ(fp4[1], 0x0A);
  for (int w = 0; w < 4; ++w)
    for (int b = 0; b < 4; ++b) {
      const int g = 4 * w + b;
      EXPECT_EQ((static_cast<uint32_t>(sf[static_cast<size_t>(w)]) >> (8 * b)) & 0xFF,
                nvfp4_e4m3_encode(static_cast<float>(g + 1)))
          << "group " << g;
    }
}

}  // namespace
}  // namespace kcs
