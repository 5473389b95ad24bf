// abs_rel with the reference's per-element budget (Contract::plus_reference_budget, K3's score):
// B[i] widens both the ratio part's and the hard part's tolerance of element i by exactly B[i]
// (the hard part's 4·tol is taken without it, so B counts once), and a budget the comparison
// cannot trust (missing, wrong size, NaN, Inf, negative) fails the check instead of excusing it.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "conformance/compare/compare.h"

namespace {

using kcs::CheckResult;
using kcs::CompareContext;
using kcs::Contract;
using kcs::DType;
using kcs::Tensor;

constexpr double kInf = std::numeric_limits<double>::infinity();

Tensor f32(std::vector<float> v) {
  Tensor t(DType::fp32, {static_cast<int64_t>(v.size())});
  for (size_t i = 0; i < v.size(); ++i) t.data<float>()[i] = v[i];
  return t;
}
Tensor f64(std::vector<double> v) {
  Tensor t(DType::fp64, {static_cast<int64_t>(v.size())});
  for (size_t i = 0; i < v.size(); ++i) t.data<double>()[i] = v[i];
  return t;
}

// tol = 0.25 + 0.5·|e| + B; hard = max(2·(0.25 + 0.5·|e|), 0) + B. All values exact in binary32.
Contract contract(double ratio = 0) {
  Contract::Hard h;
  h.mul = 2;
  return Contract::AbsRel(0.25, 0.5, ratio).plus_reference_budget().with_hard(h);
}

CheckResult run(const Tensor& e, const Tensor& a, const Tensor* budget, double ratio = 0) {
  CompareContext ctx;
  ctx.budget = budget;
  return kcs::compare_tensor("score", e, a, contract(ratio), nullptr, &ctx);
}

TEST(ScoreBudget, WidensTheToleranceByExactlyTheBudget) {
  const Tensor e = f32({2.0f, -4.0f});
  const Tensor b = f64({1.0, 0.0});  // element 0: tol 2.25; element 1: tol 2.25 (0.25 + 2)
  CheckResult at = run(e, f32({4.25f, -1.75f}), &b);
  EXPECT_TRUE(at.passed) << at.message;
  EXPECT_EQ(at.margin, 1.0);
  CheckResult over = run(e, f32({std::nextafter(4.25f, 5.0f), -4.0f}), &b);
  EXPECT_FALSE(over.passed);
  EXPECT_NE(over.message.find("> tol 2.25"), std::string::npos) << over.message;
  // The budget is per element: element 1 has none, so the same error as element 0's fails there.
  CheckResult other = run(e, f32({2.0f, -1.75f + 0.5f}), &b);
  EXPECT_FALSE(other.passed);
  EXPECT_NE(other.message.find("score[1]"), std::string::npos) << other.message;
  EXPECT_NE(contract().str().find("+ B"), std::string::npos) << contract().str();
}

TEST(ScoreBudget, HardPartAddsTheBudgetOnce) {
  // ratio 100%: only the hard part can fail. hard = 2·1.25 + B = 10.5 (a multiplied budget would
  // give 2·(1.25 + 8) = 18.5).
  const Tensor e = f32({2.0f});
  const Tensor b = f64({8.0});
  CheckResult in = run(e, f32({12.5f}), &b, 1.0);
  EXPECT_TRUE(in.passed) << in.message;
  CheckResult out = run(e, f32({12.75f}), &b, 1.0);
  EXPECT_FALSE(out.passed);
  EXPECT_NE(out.message.find("hard bound 10.5"), std::string::npos) << out.message;
}

TEST(ScoreBudget, UntrustworthyBudgetFailsTheCheck) {
  const Tensor e = f32({2.0f, 3.0f});
  const Tensor a = e;  // identical outputs: only the budget can make the check fail
  CheckResult none = run(e, a, nullptr);
  EXPECT_FALSE(none.passed);
  EXPECT_NE(none.message.find("needs the reference's budget /budget/score"), std::string::npos) << none.message;
  const Tensor short_b = f64({1.0});
  EXPECT_FALSE(run(e, a, &short_b).passed);
  Tensor wrong_type(DType::fp32, {2});
  EXPECT_FALSE(run(e, a, &wrong_type).passed);
  for (double bad : {std::nan(""), kInf, -1.0}) {
    const Tensor b = f64({0.0, bad});
    CheckResult r = run(e, a, &b);
    EXPECT_FALSE(r.passed) << bad;
    EXPECT_EQ(r.margin, kInf);
    EXPECT_NE(r.message.find("must be finite and >= 0"), std::string::npos) << r.message;
  }
}

}  // namespace
