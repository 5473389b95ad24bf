// The rounding-bias check of binary32 abs_rel outputs (K3's score, issue 19): over the elements
// whose shared inputs every correct backend reproduces (budget 0), another binary32 summation
// order passes and a truncated final cast fails; where the reference cannot vouch for the shared
// inputs (budget unbounded), a common relative error of the kind a weights GEMM in another order
// makes passes, which the check would otherwise flag as a bias.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "conformance/compare/compare.h"

namespace {

using kcs::CheckResult;
using kcs::CompareContext;
using kcs::Contract;
using kcs::DType;
using kcs::Tensor;

constexpr int kN = 1000, kH = 4;

Contract score_contract() {
  Contract::Hard h;
  h.mul = 4;
  h.atol = 5e-3;
  h.atol_scale = Contract::Scale::max1_rms;
  return Contract::AbsRel(1e-4, 0x1.0p-7, 0.005).atol_by(Contract::Scale::max1_rms).with_hard(h);
}

// Binary32 rounding of an exact (binary64) value toward zero.
float trunc32(double x) {
  float f = static_cast<float>(x);
  if (std::fabs(static_cast<double>(f)) > std::fabs(x)) f = std::nextafter(f, 0.0f);
  return f;
}

struct Scores {
  std::vector<float> r, w;  // r[i*kH + h] >= 0 (ReLU'd logits), w[h] per element row
  Tensor pre{DType::fp64, {1, kN}}, expected{DType::fp32, {1, kN}};
};

Scores make_scores(uint32_t seed) {
  std::mt19937 g(seed);
  std::uniform_real_distribution<float> ur(0.0f, 2.0f), uw(0.5f, 1.0f);
  Scores s;
  s.r.resize(kN * kH);
  s.w.resize(kN * kH);
  for (int i = 0; i < kN * kH; ++i) {
    s.r[static_cast<size_t>(i)] = ur(g);
    s.w[static_cast<size_t>(i)] = (g() & 1 ? -1.0f : 1.0f) * uw(g);
  }
  for (int i = 0; i < kN; ++i) {
    double sum = 0;  // each product is exact in binary64; their sum of 4 near-exact
    for (int h = 0; h < kH; ++h) sum += static_cast<double>(s.r[static_cast<size_t>(i * kH + h)]) * s.w[static_cast<size_t>(i * kH + h)];
    s.pre.data<double>()[i] = sum;
    s.expected.data<float>()[i] = static_cast<float>(sum);
  }
  return s;
}

// A binary32 backend: products rounded, then the sum in `order` (indices into the 4 products);
// `last` rounds the final addition (round to nearest, or truncation).
Tensor backend(const Scores& s, const std::vector<std::vector<int>>& order, bool truncate_last,
               double common_rel = 0) {
  Tensor a(DType::fp32, {1, kN});
  for (int i = 0; i < kN; ++i) {
    float p[kH];
    for (int h = 0; h < kH; ++h) {
      // A shared input computed in another order: the same relative error on every element.
      const float w = static_cast<float>(s.w[static_cast<size_t>(i * kH + h)] * (1.0 + common_rel));
      p[h] = s.r[static_cast<size_t>(i * kH + h)] * w;
    }
    // order: groups summed left to right, then the group sums left to right; the final add rounds.
    std::vector<double> partial;  // exact value of each group sum as binary32 (rounded per add)
    for (const auto& grp : order) {
      float acc = p[grp[0]];
      for (size_t k = 1; k < grp.size(); ++k) acc = acc + p[grp[k]];
      partial.push_back(acc);
    }
    float acc = static_cast<float>(partial[0]);
    for (size_t k = 1; k < partial.size(); ++k) {
      const double exact = static_cast<double>(acc) + partial[k];
      acc = (truncate_last && k + 1 == partial.size()) ? trunc32(exact) : static_cast<float>(exact);
    }
    if (partial.size() == 1 && truncate_last) {  // one group: redo its last add truncated
      const auto& grp = order[0];
      float a2 = p[grp[0]];
      for (size_t k = 1; k + 1 < grp.size(); ++k) a2 = a2 + p[grp[k]];
      acc = trunc32(static_cast<double>(a2) + p[grp.back()]);
    }
    a.data<float>()[i] = acc;
  }
  return a;
}

CheckResult check(const Scores& s, const Tensor& actual, double shared_bound) {
  Tensor budget(DType::fp64, {1, kN});
  for (int i = 0; i < kN; ++i) budget.data<double>()[i] = shared_bound;
  CompareContext ctx;
  ctx.prerounding = &s.pre;
  ctx.budget = &budget;
  return kcs::compare_tensor("score", s.expected, actual, score_contract(), nullptr, &ctx);
}

const std::vector<std::vector<int>> kForward = {{0, 1, 2, 3}}, kReversed = {{3, 2, 1, 0}},
                                    kPairwise = {{0, 1}, {2, 3}}, kMiddle = {{1, 2}, {0}, {3}};

TEST(Binary32Bias, OtherSummationOrdersPass) {
  for (uint32_t seed : {1u, 2u, 3u}) {
    const Scores s = make_scores(seed);
    for (const auto* order : {&kForward, &kReversed, &kPairwise, &kMiddle}) {
      const Tensor a = backend(s, *order, false);
      const CheckResult r = check(s, a, 0.0);
      EXPECT_TRUE(r.passed) << "seed " << seed << ": " << r.message;
      EXPECT_GT(r.metrics.mismatches, 50) << "the orders must differ from the reference somewhere";
    }
  }
}

TEST(Binary32Bias, TruncatedFinalCastFails) {
  for (uint32_t seed : {1u, 2u, 3u}) {
    const Scores s = make_scores(seed);
    for (const auto* order : {&kForward, &kReversed, &kPairwise, &kMiddle}) {
      const Tensor a = backend(s, *order, true);
      const CheckResult r = check(s, a, 0.0);
      EXPECT_FALSE(r.passed) << "seed " << seed;
      EXPECT_NE(r.message.find("rounding bias"), std::string::npos) << r.message;
      // Within the contract otherwise: only the bias check can see it.
      const CheckResult ungated = check(s, a, HUGE_VAL);
      EXPECT_TRUE(ungated.passed) << ungated.message;
    }
  }
}

// A shared input computed in another order (every head's weight 8·2^-24 larger, as a weights GEMM
// of another order can make them, the same for every element of the token) moves every element
// away from zero: a correct backend that the gate must keep out of the count.
TEST(Binary32Bias, SharedErrorsAreNotCounted) {
  const Scores s = make_scores(4);
  const Tensor a = backend(s, kForward, false, 8 * 0x1.0p-24);
  EXPECT_TRUE(check(s, a, HUGE_VAL).passed);
  const CheckResult r = check(s, a, 0.0);  // what counting them would do
  EXPECT_FALSE(r.passed) << "the shared error should look like a bias when counted";
}

}  // namespace
