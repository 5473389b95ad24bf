// LayerNorm (K1 form) conformance (spec §1.4): the generic suite, plus
//   Binary32Model          AVX-512 and AVX2 equal, bit for bit, a scalar binary32 model of the
//                          documented operation order (K1's sequence, 64 lane partials + tree),
//                          on the ci cases and on 2^19 random elements (an output flip needs the
//                          binary32 value near a BF16 boundary, so few elements would miss it)
//   ReductionOrder         the ISA kernels' μ and σ² equal the model's bit for bit for many row
//                          lengths (a changed summation order shows here first)
//   AnyOrderWithinContract binary32 evaluations in other orders (sequential sums, reversed sums,
//                          Σx ⊘ n for the mean) meet the declared budget on every ci case: the
//                          budget of include/kcs/kernels/layernorm.h holds for any order
//   BudgetIsNeeded         on cancelling outputs (large_mean, beta_cancel) an exact binary32
//                          evaluation is more than 1 BF16 unit off: max_ulp(1) would reject it
//   UnbiasedVarianceIsCaught  torch.var's default 1/(n-1) instead of 1/n fails the contract
//   BadProblemsRejected    eps <= 0, n > 65536
#include <gtest/gtest.h>

#include <cmath>

#include "conformance/compare/compare.h"
#include "conformance/suites/suite.h"
#include "decl/kernels.h"
#include "fixtures/generators/generators.h"
#include "kcs/formats.h"
#include "kcs/kernels/layernorm.h"
#include "optimized/layernorm.h"
#include "optimized/variants.h"

KCS_CONFORMANCE_SUITE(layernorm)

namespace kcs {
namespace {

enum class Order { tree64, sequential, reversed };

struct Options {
  Order order = Order::tree64;
  bool mean_by_division = false;  // Σx ⊘ n instead of Σ(x ⊗ (1/n))
  bool unbiased = false;          // fault: 1/(n-1) in the variance
};

float sum(const std::vector<float>& t, Order order) {
  const int64_t n = static_cast<int64_t>(t.size());
  float s = 0;
  if (order == Order::tree64) {
    float part[64] = {};
    for (int64_t k = 0; k < n; ++k) part[k % 64] += t[static_cast<size_t>(k)];
    for (int w = 32; w >= 1; w /= 2)
      for (int l = 0; l < w; ++l) part[l] += part[l + w];
    return part[0];
  }
  if (order == Order::sequential) {
    for (int64_t k = 0; k < n; ++k) s += t[static_cast<size_t>(k)];
  } else {
    for (int64_t k = n - 1; k >= 0; --k) s += t[static_cast<size_t>(k)];
  }
  return s;
}

// μ and σ² of one row in binary32 (-ffp-contract=off: no FMA).
void model_stats(const float* xr, int64_t n, const Options& o, float* mu_out, float* var_out) {
  const float c = static_cast<float>(1.0 / static_cast<double>(n));
  const float cv = o.unbiased ? static_cast<float>(1.0 / static_cast<double>(n - 1)) : c;
  std::vector<float> t(static_cast<size_t>(n));
  for (int64_t k = 0; k < n; ++k) t[static_cast<size_t>(k)] = o.mean_by_division ? xr[k] : xr[k] * c;
  const float mu = o.mean_by_division ? sum(t, o.order) / static_cast<float>(n) : sum(t, o.order);
  for (int64_t k = 0; k < n; ++k) {
    const float d = xr[k] - mu;
    t[static_cast<size_t>(k)] = (d * d) * cv;
  }
  *mu_out = mu;
  *var_out = sum(t, o.order);
}

// A binary32 evaluation of K1's LayerNorm.
Tensor model(const Problem& p, const TensorMap& in, const Options& o) {
  const Tensor& x = in.at("x");
  const int64_t rows = x.rows(), n = x.row_len();
  const float eps = static_cast<float>(p.attr_f64("eps"));
  Tensor y(DType::bf16, x.shape());
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x.data<float>() + r * n;
    float mu, var;
    model_stats(xr, n, o, &mu, &var);
    const float den = std::sqrt(var + eps);
    for (int64_t j = 0; j < n; ++j) {
      const float z = (xr[j] - mu) / den;
      const float g = bf16_to_float(in.at("gamma").data<uint16_t>()[j]);
      const float b = bf16_to_float(in.at("beta").data<uint16_t>()[j]);
      y.data<uint16_t>()[r * n + j] = bf16_from_float(z * g + b);
    }
  }
  return y;
}

// The optimized kernel's ISA variants this CPU runs (optimized/layernorm.h, kLayerNormVariants).
using Variant = opt::LayerNormVariant;
std::vector<Variant> runnable_variants() { return opt::runnable_variants(opt::kLayerNormVariants); }

Problem problem(int64_t rows, int64_t n) {
  Problem p;
  p.kernel = "layernorm";
  p.dims = {{"rows", rows}, {"n", n}};
  return complete_problem(layernorm_decl(), p);
}

TensorMap random_inputs(const Problem& p, const char* scenario, uint64_t seed) {
  const KernelDecl& d = layernorm_decl();
  TensorMap t;
  for (const char* name : {"x", "gamma", "beta"}) t.emplace(name, make_tensor(d, p, name));
  CaseSpec cs;
  cs.problem = p;
  cs.scenario = scenario;
  Rng rng(seed);
  generate_layernorm(cs, t, rng);
  return t;
}

opt::LayerNormRows args(const Problem& p, const TensorMap& in, Tensor* y) {
  opt::LayerNormRows a;
  a.x = in.at("x").data<float>();
  a.gamma = in.at("gamma").data<uint16_t>();
  a.beta = in.at("beta").data<uint16_t>();
  a.n = p.dim("n");
  a.eps = static_cast<float>(p.attr_f64("eps"));
  a.inv_n = static_cast<float>(1.0 / static_cast<double>(a.n));
  a.y = y ? y->data<uint16_t>() : nullptr;
  return a;
}

std::vector<const CaseSpec*> ci_cases() {
  std::vector<const CaseSpec*> out;
  for (const auto& cs : suite::catalog("layernorm").cases)
    if (cs.tier != Tier::nightly && cs.expect_error.empty()) out.push_back(&cs);
  return out;
}

CheckResult score(const Bundle& b, const Tensor& y, const Contract& c) {
  CompareContext ctx;
  ctx.prerounding = &b.prerounding.at("y");
  ctx.budget = &b.budget.at("y");
  return compare_tensor("y", b.outputs.at("y"), y, c, nullptr, &ctx);
}

const Contract& declared() { return layernorm_decl().find_tensor("y")->contract; }

// Largest |y - pre| / (1/2 ulp(pre) + c 2^-24 B) over the elements more than 1 ulp off: how much
// of the budget an evaluation actually used where the ulp branch does not already pass it.
double budget_used(const Bundle& b, const Tensor& y) {
  const Tensor& want = b.outputs.at("y");
  double worst = 0;
  for (int64_t i = 0; i < y.numel(); ++i) {
    const uint16_t e = want.data<uint16_t>()[i], a = y.data<uint16_t>()[i];
    if (std::abs(ord16(e) - ord16(a)) <= 1) continue;
    const double pre = b.prerounding.at("y").data<double>()[i];
    const double tol = 0.5 * format_ulp(DType::bf16, pre) + declared().budget_c * 0x1p-24 * b.budget.at("y").data<double>()[i];
    worst = std::max(worst, std::fabs(static_cast<double>(bf16_to_float(a)) - pre) / tol);
  }
  return worst;
}

TEST(LayerNormKernel, Binary32Model) {
  int ran = 0;
  for (const CaseSpec* cs : ci_cases()) {
    const Bundle& b = suite::bundle_for(*cs);
    const Tensor want = model(b.problem, b.inputs, Options{});
    for (Isa isa : {Isa::avx512, Isa::avx2}) {
      auto be = make_isa_backend(isa);
      if (!be->availability().runnable) continue;
      ++ran;
      const TensorMap got = suite::call(layernorm_decl(), b, *be, TileConfig{}, 1);
      EXPECT_TRUE(got.at("y").same_bytes(want)) << cs->id << " on " << be->name();
    }
  }
  if (!ran) GTEST_SKIP() << "skipped: no optimized variant runs on this CPU";
}

TEST(LayerNormKernel, Binary32ModelRandomRows) {
  for (int64_t n : {128, 100}) {
    const Problem p = problem(4096, n);
    const TensorMap in = random_inputs(p, "random", static_cast<uint64_t>(n));
    const Tensor want = model(p, in, Options{});
    for (const Variant& v : runnable_variants()) {
      Tensor y(DType::bf16, want.shape());
      v.rows(args(p, in, &y), 0, p.dim("rows"));
      EXPECT_TRUE(y.same_bytes(want)) << isa_name(v.isa) << " n=" << n;
    }
  }
}

TEST(LayerNormKernel, ReductionOrder) {
  std::vector<int64_t> lengths;
  for (int64_t n = 1; n <= 200; ++n) lengths.push_back(n);
  for (int64_t n : {511, 512, 513, 1536, 7168}) lengths.push_back(n);
  for (const char* scenario : {"random", "large_mean"})
    for (int64_t n : lengths) {
      const Problem p = problem(8, n);
      const TensorMap in = random_inputs(p, scenario, static_cast<uint64_t>(n) * 5 + 1);
      for (const Variant& v : runnable_variants())
        for (int64_t r = 0; r < 8; ++r) {
          float mu, var, got_mu, got_var;
          model_stats(in.at("x").data<float>() + r * n, n, Options{}, &mu, &var);
          v.stats(args(p, in, nullptr), r, &got_mu, &got_var);
          ASSERT_EQ(f32_bits(got_mu), f32_bits(mu)) << isa_name(v.isa) << " " << scenario << " n=" << n << " row " << r;
          ASSERT_EQ(f32_bits(got_var), f32_bits(var)) << isa_name(v.isa) << " " << scenario << " n=" << n << " row " << r;
        }
    }
}

TEST(LayerNormKernel, AnyOrderWithinContract) {
  double worst = 0, used = 0;
  std::string worst_case, used_case;
  for (const CaseSpec* cs : ci_cases()) {
    const Bundle& b = suite::bundle_for(*cs);
    for (Order order : {Order::tree64, Order::sequential, Order::reversed})
      for (bool div : {false, true}) {
        Options o;
        o.order = order;
        o.mean_by_division = div;
        const CheckResult r = score(b, model(b.problem, b.inputs, o), declared());
        EXPECT_TRUE(r.passed) << cs->id << " order " << static_cast<int>(order) << (div ? " mean by division" : "")
                              << ": " << r.message;
        if (r.margin > worst) {
          worst = r.margin;
          worst_case = cs->id;
        }
        const double u = budget_used(b, model(b.problem, b.inputs, o));
        if (u > used) {
          used = u;
          used_case = cs->id;
        }
      }
  }
  // The margin is max over elements of min(d_ulp / 1, |err| / tol): how close any order came.
  std::printf("largest margin %.3f (%s); largest budget use beyond 1 ulp %.3g (%s)\n", worst, worst_case.c_str(), used,
              used_case.c_str());
}

TEST(LayerNormKernel, BudgetIsNeeded) {
  for (const char* scen : {"large_mean", "beta_cancel"}) {
    int64_t max_ulp = 0;
    for (const CaseSpec* cs : ci_cases()) {
      if (cs->scenario != scen) continue;
      const Bundle& b = suite::bundle_for(*cs);
      const CheckResult strict = score(b, model(b.problem, b.inputs, Options{}), Contract::MaxUlp(1));
      max_ulp = std::max(max_ulp, strict.metrics.max_ulp);
    }
    EXPECT_GT(max_ulp, 1) << scen << ": the binary32 model stayed within 1 ulp; the scenario no longer cancels";
  }
}

TEST(LayerNormKernel, UnbiasedVarianceIsCaught) {
  int caught = 0, tried = 0;
  for (const CaseSpec* cs : ci_cases()) {
    if (cs->scenario != "random" || cs->problem.dim("n") > 17 || cs->problem.dim("n") < 2) continue;
    const Bundle& b = suite::bundle_for(*cs);
    if (b.problem.dim("rows") == 0) continue;
    Options o;
    o.unbiased = true;
    ++tried;
    caught += score(b, model(b.problem, b.inputs, o), declared()).passed ? 0 : 1;
  }
  ASSERT_GT(tried, 0);
  EXPECT_EQ(caught, tried);
}

TEST(LayerNormKernel, BadProblemsRejected) {
  const KernelDecl& d = layernorm_decl();
  auto check = [&](int64_t n, Attrs attrs, const char* needle) {
    Problem p;
    p.kernel = "layernorm";
    p.dims = {{"rows", 2}, {"n", n}};
    p.attrs = std::move(attrs);
    const Status s = validate_problem(d, complete_problem(d, p));
    EXPECT_FALSE(s.ok) << needle;
    EXPECT_NE(s.message.find(needle), std::string::npos) << s.message;
  };
  check(64, {{"eps", "0"}}, "eps = 0");
  check(65537, {}, "n = 65537");
  check(0, {}, "n = 0");
}

}  // namespace
}  // namespace kcs
