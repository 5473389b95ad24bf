// RoPE frequency / table builders (reference/rope_tables.cc) and the algebra of the RoPE
// variants that spec §1.3 states as [I, verified]:
//   * θ_0 = 1; the YaRN correction range of V3.2 and V4 and the ramp's endpoints;
//   * table layouts: half-duplicated [t, R], half [t, R/2], vLLM cos_sin_cache [max_pos, R];
//   * R-HALF with a half-duplicated real table equals the non-interleaved rotation of the pairs
//     (x_p, x_{p+R/2}) (V3.2 final indexer, O2);
//   * R-V2 with the same table equals the interleaved complex rotation (V3.2 MLA, O1) written in
//     de-interleaved order.
#include <gtest/gtest.h>

#include <cmath>
#include <complex>
#include <cstdint>
#include <vector>

#include "kcs/kernels/rope.h"
#include "reference/primitives.h"
#include "tables/rope.h"

namespace kcs {
namespace {

constexpr double kTwoPi = 6.283185307179586;

TEST(RopeFreq, ThetaZeroIsOne) {
  for (const RopeFreqConfig& c : {rope_freq_v32(), rope_freq_v4_compressed(), rope_freq_v4_window()})
    for (int64_t R : {2, 16, 64, 128}) EXPECT_EQ(rope_inv_freq(c, R)[0], 1.0f) << "R=" << R;
}

TEST(RopeFreq, PlainFrequenciesFollowBasePower) {
  // No YaRN: θ_p = 1 / base^(2p/R), rounded to binary32 at each of the official steps, so within
  // a couple of binary32 ulps of the exact value and strictly decreasing.
  const std::vector<float> f = rope_inv_freq(rope_freq_v4_window(), 64);
  ASSERT_EQ(f.size(), 32u);
  for (size_t p = 0; p < f.size(); ++p) {
    const double exact = std::pow(10000.0, -2.0 * static_cast<double>(p) / 64.0);
    EXPECT_NEAR(f[p], exact, 2 * std::ldexp(exact, -23)) << "p=" << p;
    if (p) {
      EXPECT_LT(f[p], f[p - 1]);
    }
  }
}

TEST(RopeFreq, YarnCorrectionRanges) {
  // low = floor(R ln(L0 / (32·2π)) / (2 ln base)), high = ceil(R ln(L0 / 2π) / (2 ln base)):
  // V3.2 (base 1e4, L0 4096): 64·ln(20.37)/18.42 = 10.47 -> 10; 64·ln(651.9)/18.42 = 22.5 -> 23.
  // V4 (base 160000, L0 65536): 64·ln(325.9)/23.97 = 15.45 -> 15; 64·ln(10430)/23.97 = 24.7 -> 25.
  const YarnRange v32 = rope_yarn_range(rope_freq_v32(), 64);
  EXPECT_EQ(v32.low, 10);
  EXPECT_EQ(v32.high, 23);
  const YarnRange v4 = rope_yarn_range(rope_freq_v4_compressed(), 64);
  EXPECT_EQ(v4.low, 15);
  EXPECT_EQ(v4.high, 25);
  // Clamped to [0, R - 1] for a tiny R.
  const YarnRange tiny = rope_yarn_range(rope_freq_v32(), 4);
  EXPECT_GE(tiny.low, 0);
  EXPECT_LE(tiny.high, 3);
}

TEST(RopeFreq, YarnRampEndpoints) {
  // ramp = 0 (p <= low): θ' = θ exactly (θ/factor·0 + θ·1); ramp = 1 (p >= high): θ' = f32(θ/factor)
  // (+ θ·0); in between θ' lies strictly between θ/factor and θ.
  for (const RopeFreqConfig& c : {rope_freq_v32(), rope_freq_v4_compressed()}) {
    RopeFreqConfig plain = c;
    plain.yarn = false;
    const std::vector<float> th = rope_inv_freq(plain, 64), ty = rope_inv_freq(c, 64);
    const YarnRange yr = rope_yarn_range(c, 64);
    for (int64_t p = 0; p < 32; ++p) {
      const float t = th[static_cast<size_t>(p)], y = ty[static_cast<size_t>(p)];
      const float scaled = static_cast<float>(static_cast<double>(t) / c.factor);
      if (p <= yr.low) {
        EXPECT_EQ(y, t) << "p=" << p;
      } else if (p >= yr.high) {
        EXPECT_EQ(y, scaled) << "p=" << p;
      } else {
        EXPECT_GT(y, scaled) << "p=" << p;
        EXPECT_LT(y, t) << "p=" << p;
      }
    }
  }
}

TEST(RopeTables, AnglesAreBinary32AndLayoutsAgree) {
  const std::vector<float> f = rope_inv_freq(rope_freq_v32(), 64);
  const std::vector<int64_t> pos = {0, 1, 4095, 163839};
  std::vector<float> ch, sh, cf, sf;
  rope_table_half(f, pos, &ch, &sh);
  rope_table_full(f, pos, &cf, &sf);
  ASSERT_EQ(ch.size(), pos.size() * 32);
  ASSERT_EQ(cf.size(), pos.size() * 64);
  for (size_t i = 0; i < pos.size(); ++i) {
    for (size_t p = 0; p < 32; ++p) {
      // The angle is the binary32 product f32(pos) ⊗ θ (torch.outer in fp32), not the exact one.
      const float angle = static_cast<float>(static_cast<double>(pos[i]) * static_cast<double>(f[p]));
      EXPECT_EQ(ch[i * 32 + p], static_cast<float>(std::cos(static_cast<double>(angle))));
      EXPECT_EQ(sh[i * 32 + p], static_cast<float>(std::sin(static_cast<double>(angle))));
      // Half-duplicated: columns p and p + R/2 both hold pair p.
      EXPECT_EQ(cf[i * 64 + p], ch[i * 32 + p]);
      EXPECT_EQ(cf[i * 64 + 32 + p], ch[i * 32 + p]);
      EXPECT_EQ(sf[i * 64 + p], sh[i * 32 + p]);
      EXPECT_EQ(sf[i * 64 + 32 + p], sh[i * 32 + p]);
    }
  }
  // Position 0 is the identity rotation.
  for (size_t p = 0; p < 32; ++p) {
    EXPECT_EQ(ch[p], 1.0f);
    EXPECT_EQ(sh[p], 0.0f);
  }
  // At position 163839 the binary32 angle of pair 0 (θ = 1) is the position itself; its cos
  // differs from cos of the exact angle only through binary32 rounding of the result.
  EXPECT_NEAR(ch[3 * 32], std::cos(163839.0), 1e-7);
}

TEST(RopeTables, CosSinCacheLayout) {
  const std::vector<float> f = rope_inv_freq(rope_freq_v4_compressed(), 64);
  const std::vector<float> cache = rope_cos_sin_cache(f, 300);
  ASSERT_EQ(cache.size(), 300u * 64u);
  std::vector<int64_t> pos(300);
  for (int64_t i = 0; i < 300; ++i) pos[static_cast<size_t>(i)] = i;
  std::vector<float> ch, sh;
  rope_table_half(f, pos, &ch, &sh);
  for (size_t i = 0; i < 300; ++i)
    for (size_t p = 0; p < 32; ++p) {
      EXPECT_EQ(cache[i * 64 + p], ch[i * 32 + p]);       // cos in [0, R/2)
      EXPECT_EQ(cache[i * 64 + 32 + p], sh[i * 32 + p]);  // sin in [R/2, R)
    }
}

// A BF16-representable random slice (values with 8 significant bits).
std::vector<float> bf16_like(int64_t n, uint32_t seed) {
  std::vector<float> v(static_cast<size_t>(n));
  uint32_t s = seed;
  for (float& e : v) {
    s = s * 1664525u + 1013904223u;
    const int mant = static_cast<int>(s >> 24) | 0x80;  // 8 bits, leading one
    const int ex = static_cast<int>((s >> 8) % 8) - 10;
    e = std::ldexp(static_cast<float>((s & 1u) ? -mant : mant), ex);
  }
  return v;
}

TEST(RopeAlgebra, HalfWithDuplicatedTableIsNonInterleavedRotation) {
  const int64_t R = 64, h = 32;
  const std::vector<float> f = rope_inv_freq(rope_freq_v32(), R);
  for (int64_t pos : {0, 7, 5000, 163839}) {
    std::vector<float> cf, sf;
    rope_table_full(f, {pos}, &cf, &sf);
    const std::vector<float> x = bf16_like(R, static_cast<uint32_t>(pos) + 1);
    RopeSliceRef s;
    s.mode = RopeMode::half;
    s.R = R;
    s.cos = cf.data();
    s.sin = sf.data();
    std::vector<double> y(static_cast<size_t>(R));
    rope_slice_reference(s, x.data(), y.data());
    for (int64_t p = 0; p < h; ++p) {
      // (x_p + i x_{p+h}) · e^{iφ_p}: the pair (p, p + R/2) rotated by angle φ_p.
      const std::complex<double> z(x[static_cast<size_t>(p)], x[static_cast<size_t>(p + h)]);
      const std::complex<double> w = z * std::complex<double>(cf[static_cast<size_t>(p)], sf[static_cast<size_t>(p)]);
      EXPECT_NEAR(y[static_cast<size_t>(p)], w.real(), 1e-15 * (std::abs(z) + 1)) << "pos " << pos << " p " << p;
      EXPECT_NEAR(y[static_cast<size_t>(p + h)], w.imag(), 1e-15 * (std::abs(z) + 1)) << "pos " << pos << " p " << p;
    }
  }
}

TEST(RopeAlgebra, V2IsInterleavedRotationInDeinterleavedOrder) {
  const int64_t R = 64, h = 32;
  const std::vector<float> f = rope_inv_freq(rope_freq_v32(), R);
  for (int64_t pos : {1, 4096, 100000}) {
    std::vector<float> cf, sf, ch, sh;
    rope_table_full(f, {pos}, &cf, &sf);
    rope_table_half(f, {pos}, &ch, &sh);
    const std::vector<float> x = bf16_like(R, static_cast<uint32_t>(pos) * 3 + 1);
    RopeSliceRef v2;
    v2.mode = RopeMode::v2;
    v2.R = R;
    v2.cos = cf.data();
    v2.sin = sf.data();
    std::vector<double> y(static_cast<size_t>(R));
    rope_slice_reference(v2, x.data(), y.data());
    RopeSliceRef pair;
    pair.mode = RopeMode::pair;
    pair.R = R;
    pair.cos = ch.data();
    pair.sin = sh.data();
    pair.half_table = true;
    std::vector<double> yp(static_cast<size_t>(R));
    rope_slice_reference(pair, x.data(), yp.data());
    for (int64_t p = 0; p < h; ++p) {
      // The official interleaved rotation (x_{2p} + i x_{2p+1}) · e^{iφ_p} ...
      const std::complex<double> z(x[static_cast<size_t>(2 * p)], x[static_cast<size_t>(2 * p + 1)]);
      const std::complex<double> w = z * std::complex<double>(ch[static_cast<size_t>(p)], sh[static_cast<size_t>(p)]);
      // ... is R-PAIR (interleaved output) ...
      EXPECT_NEAR(yp[static_cast<size_t>(2 * p)], w.real(), 1e-15 * (std::abs(z) + 1));
      EXPECT_NEAR(yp[static_cast<size_t>(2 * p + 1)], w.imag(), 1e-15 * (std::abs(z) + 1));
      // ... and R-V2 writes the same numbers de-interleaved: real parts first, then imaginary.
      EXPECT_EQ(y[static_cast<size_t>(p)], yp[static_cast<size_t>(2 * p)]) << "pos " << pos << " p " << p;
      EXPECT_EQ(y[static_cast<size_t>(h + p)], yp[static_cast<size_t>(2 * p + 1)]) << "pos " << pos << " p " << p;
    }
  }
}

TEST(RopeAlgebra, RotateHalfTurnsNegativeZeroPositive) {
  // x = [−0, −0 | −0, −0], c = 0, s = 1: y_lo = −0·0 + (−(−0))·1 = −0 + +0 = +0,
  // y_hi = −0·0 + (−0 + 0.0)·1 = −0 + +0 = +0. Without the "+ 0.0", y_hi would be −0 + −0 = −0.
  const std::vector<float> x = {-0.0f, -0.0f, -0.0f, -0.0f};
  const std::vector<float> c = {0, 0, 0, 0}, sn = {1, 1, 1, 1};
  RopeSliceRef s;
  s.mode = RopeMode::half;
  s.R = 4;
  s.cos = c.data();
  s.sin = sn.data();
  std::vector<double> y(4);
  rope_slice_reference(s, x.data(), y.data());
  for (double v : y) EXPECT_FALSE(std::signbit(v));
  // R-PAIR keeps IEEE signs: y_0 = −0·1 − (−0)·0 = −0 − −0 = +0; y_1 = −0·0 + −0·1 = −0.
  const std::vector<float> cp = {1, 1}, sp = {0, 0};
  s.mode = RopeMode::pair;
  s.half_table = true;
  s.cos = cp.data();
  s.sin = sp.data();
  rope_slice_reference(s, x.data(), y.data());
  EXPECT_FALSE(std::signbit(y[0]));
  EXPECT_TRUE(std::signbit(y[1]));
}

}  // namespace
}  // namespace kcs
