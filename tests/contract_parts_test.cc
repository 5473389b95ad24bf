// Tests for the spec §10.5 parts of the contract vocabulary (issue 19): a hard part beside the
// ratio part, rms-scaled atol, a tolerance term in ulps, Q8 scale self-consistency, the valid region,
// and the quantizer inputs (group amax, element input) shown beside a failing element.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "conformance/compare/compare.h"
#include "kcs/formats.h"

namespace {

using kcs::CheckResult;
using kcs::CompareContext;
using kcs::Contract;
using kcs::DType;
using kcs::Tensor;

Tensor f32(int64_t n, const std::vector<float>& v) {
  Tensor t(DType::fp32, {1, n});
  std::memcpy(t.raw(), v.data(), v.size() * sizeof(float));
  return t;
}

Contract score_like(bool hard) {
  Contract c = Contract::AbsRel(1e-4, 0x1.0p-7, 0.005).atol_by(Contract::Scale::max1_rms);
  if (!hard) return c;
  Contract::Hard h;
  h.mul = 4;
  h.atol = 5e-3;
  h.atol_scale = Contract::Scale::max1_rms;
  return c.with_hard(h);
}

TEST(ContractParts, StringsNameEveryPart) {
  EXPECT_EQ(score_like(true).str(), "abs_rel(0.0001*max(1,rms), 0.0078125, 0.5%) hard |err| <= max(4*tol, 0.005*max(1,rms))");
  EXPECT_EQ(Contract::AbsRel(0, 0x1.0p-7, 0).plus_ulps(1).self_consistent_scale(DType::bf16).str(),
            "abs_rel(0, 0.0078125 + 1ulp, 0%) self_consistent(bfloat16 amax)");
  Contract::Hard h;
  h.atol = 0x1p-9;
  h.atol_scale = Contract::Scale::rms;
  h.dulp = 2;
  EXPECT_EQ(Contract::UlpOrBudget(1, 2, "", 0.005).with_hard(h).str(),
            "ulp_or_budget(1, 1/2ulp + 2*2^-24*A, 0.5%) hard d_ulp <= 2 or |err| <= 0.00195312*rms");
  // Unrefined contracts print as before (results and baselines keep their strings).
  EXPECT_EQ(Contract::AbsRel(0.005, 0x1p-7, 0.005).str(), "abs_rel(0.005, 0.0078125, 0.5%)");
}

// The ratio part lets one element in 200 be anything; the hard part does not.
TEST(ContractParts, HardPartCatchesTheOneElementTheRatioAllows) {
  std::vector<float> e(200);
  for (int i = 0; i < 200; ++i) e[static_cast<size_t>(i)] = static_cast<float>(i + 1) * 0.01f;
  std::vector<float> a = e;
  a[7] *= 4;  // far beyond 4*tol
  const Tensor te = f32(200, e), ta = f32(200, a);
  const CheckResult ratio_only = kcs::compare_tensor("s", te, ta, score_like(false));
  EXPECT_TRUE(ratio_only.passed) << ratio_only.message;
  const CheckResult full = kcs::compare_tensor("s", te, ta, score_like(true));
  EXPECT_FALSE(full.passed);
  EXPECT_NE(full.message.find("s[0, 7]"), std::string::npos) << full.message;
  EXPECT_NE(full.message.find("hard bound"), std::string::npos) << full.message;
  EXPECT_GT(full.margin, 1);
  // 2*tol on that element: beyond the ratio part's tol (one element: allowed), within the hard part.
  a[7] = e[7] + 2.0f * static_cast<float>(1e-4 + 0x1.0p-7 * e[7]);
  const CheckResult within = kcs::compare_tensor("s", te, f32(200, a), score_like(true));
  EXPECT_TRUE(within.passed) << within.message;
  EXPECT_LE(within.margin, 1);
}

// atol scaled by max(1, rms): an error at a zero element that 1e-4 refuses and 1e-4*rms accepts.
TEST(ContractParts, AtolScalesWithTheReferenceRms) {
  std::vector<float> e(4, 100.0f);
  e[0] = 0;
  std::vector<float> a = e;
  a[0] = 5e-3f;
  const Tensor te = f32(4, e), ta = f32(4, a);
  EXPECT_FALSE(kcs::compare_tensor("s", te, ta, Contract::AbsRel(1e-4, 0x1.0p-7, 0)).passed);
  const CheckResult r = kcs::compare_tensor("s", te, ta, Contract::AbsRel(1e-4, 0x1.0p-7, 0).atol_by(Contract::Scale::max1_rms));
  EXPECT_TRUE(r.passed) << r.message;  // rms = sqrt(3/4)*100: atol 8.66e-3
}

// Q8 step 5 for a BF16 amax, stored in FP16.
uint16_t scale16(float amax) { return kcs::fp16_from_float(1.0f / (127.0f / amax)); }

Tensor fp16_col(const std::vector<uint16_t>& bits) {
  Tensor t(DType::fp16, {static_cast<int64_t>(bits.size()), 1});
  std::memcpy(t.raw(), bits.data(), bits.size() * 2);
  return t;
}

TEST(ContractParts, ScaleSelfConsistency) {
  const Contract c = Contract::AbsRel(0, 0x1.0p-7, 0).plus_ulps(1).self_consistent_scale(DType::bf16);
  std::vector<float> amax;
  for (float a : {3.140625f, 0.00390625f, 17.25f, 0.0048828125f /* fp16-subnormal scale */, 250.0f}) amax.push_back(a);
  std::vector<uint16_t> e;
  for (float a : amax) e.push_back(scale16(a));
  const Tensor te = fp16_col(e);
  EXPECT_TRUE(kcs::compare_tensor("q_scale", te, te, c).passed);
  for (size_t k = 0; k < e.size(); ++k) {
    // Another amax (the next BF16 value, as after a flip of the amax element): another scale, but
    // self-consistent and within 2^-7: passes.
    std::vector<uint16_t> other = e;
    const float next = kcs::bf16_to_float(static_cast<uint16_t>(kcs::bf16_from_float(amax[k]) + 1));
    other[k] = scale16(next);
    const CheckResult ok = kcs::compare_tensor("q_scale", te, fp16_col(other), c);
    EXPECT_TRUE(ok.passed) << "amax " << amax[k] << ": " << ok.message;
    // The same amax, its scale 1 ULP off either way (truncation, amax/127): no BF16 amax gives it.
    for (int d : {-1, 1}) {
      std::vector<uint16_t> off = e;
      off[k] = static_cast<uint16_t>(e[k] + d);
      const CheckResult bad = kcs::compare_tensor("q_scale", te, fp16_col(off), c);
      EXPECT_FALSE(bad.passed) << "amax " << amax[k] << " step " << d;
      EXPECT_NE(bad.message.find("not self-consistent"), std::string::npos) << bad.message;
    }
  }
  // FP32 scales (K2): 1 ULP off fails, the scale of the next BF16 amax passes.
  const float a = 5.5f, s = 1.0f / (127.0f / a);
  const float s_next = 1.0f / (127.0f / kcs::bf16_to_float(static_cast<uint16_t>(kcs::bf16_from_float(a) + 1)));
  const Contract c32 = Contract::AbsRel(0, 0x1.0p-7, 0).plus_ulps(1).self_consistent_scale(DType::bf16);
  EXPECT_TRUE(kcs::compare_tensor("k", f32(1, {s}), f32(1, {s_next}), c32).passed);
  EXPECT_FALSE(kcs::compare_tensor("k", f32(1, {s}), f32(1, {std::nextafter(s, 1.0f)}), c32).passed);
  EXPECT_FALSE(kcs::compare_tensor("k", f32(1, {s}), f32(1, {a / 127.0f == s ? std::nextafter(s, 0.0f) : a / 127.0f}), c32).passed);
}

TEST(ContractParts, ValidRegionIsAllThatIsCompared) {
  const Tensor e = f32(4, {1, 2, -3.4028235e38f, -3.4028235e38f});
  const Tensor a = f32(4, {1, 2, 7, 8});
  const std::vector<uint8_t> valid = {1, 1, 0, 0};
  CompareContext ctx;
  ctx.valid = &valid;
  const CheckResult r = kcs::compare_tensor("s", e, a, score_like(true), nullptr, &ctx);
  EXPECT_TRUE(r.passed) << r.message;
  EXPECT_EQ(r.metrics.numel, 2);
  const std::vector<uint8_t> wrong = {1, 1, 0};
  ctx.valid = &wrong;
  EXPECT_FALSE(kcs::compare_tensor("s", e, a, score_like(true), nullptr, &ctx).passed);
}

// A failing code shows its reference value before rounding, its row's amax and its input.
TEST(ContractParts, FailingCodeShowsItsInputs) {
  Tensor e(DType::i8, {1, 4}), a(DType::i8, {1, 4}), pre(DType::fp32, {1, 4});
  const std::vector<int8_t> ev = {0, 2, 127, -2}, av = {1, 2, 127, -2};
  const std::vector<float> pv = {0.5f, 1.5f, 127.0f, -2.5f};
  std::memcpy(e.raw(), ev.data(), 4);
  std::memcpy(a.raw(), av.data(), 4);
  std::memcpy(pre.raw(), pv.data(), 16);
  const std::vector<double> input = {0.25, 0.75, 63.5, -1.25};
  CompareContext ctx;
  ctx.prerounding = &pre;
  ctx.quant_input = input.data();
  ctx.quant_n = 4;
  ctx.quant_group = 4;
  const CheckResult r = kcs::compare_tensor("codes", e, a, Contract::Exact(), nullptr, &ctx);
  ASSERT_FALSE(r.passed);
  ASSERT_EQ(r.metrics.worst.size(), 1u);
  EXPECT_EQ(r.metrics.worst[0].prerounding, 0.5);
  EXPECT_EQ(r.metrics.worst[0].amax, 63.5);
  EXPECT_EQ(r.metrics.worst[0].input, 0.25);
  EXPECT_NE(r.message.find("reference before rounding 0.5, group amax 63.5, input 0.25"), std::string::npos) << r.message;
}

}  // namespace
