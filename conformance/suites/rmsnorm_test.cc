// RMSNorm conformance (spec §1.4): the generic suite, plus
//   Binary32Model          AVX-512 and AVX2 equal, bit for bit, a scalar binary32 model of the
//                          documented operation order (64 lane partial sums + fixed tree), on
//                          the ci cases and on 2^19 random elements (an output flip needs the
//                          binary32 value near a BF16 boundary, so few elements would miss it)
//   ReductionOrder         the ISA kernels' ms equals the model's ms bit for bit for many row
//                          lengths (a changed summation order shows here first)
//   AnyOrderWithinContract binary32 evaluations in other summation orders (sequential, reversed)
//                          meet max_ulp(1) on every ci case: the contract holds for any order,
//                          as include/kcs/kernels/rmsnorm.h derives
//   EpsOmittedIsCaught     the P2 golden's RMSNorm without eps (spec D4) fails the contract
//   BadProblemsRejected    form / gamma dtype mismatch, eps <= 0, n > 65536
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "conformance/compare/compare.h"
#include "conformance/suites/suite.h"
#include "decl/kernels.h"
#include "fixtures/generators/generators.h"
#include "kcs/formats.h"
#include "kcs/kernels/rmsnorm.h"
#include "optimized/rmsnorm.h"
#include "optimized/variants.h"

KCS_CONFORMANCE_SUITE(rmsnorm)

namespace kcs {
namespace {

enum class Order { tree64, sequential, reversed };

struct Options {
  Order order = Order::tree64;
  bool omit_eps = false;
};

float sum(const std::vector<float>& t, Order order) {
  const int64_t n = static_cast<int64_t>(t.size());
  if (order == Order::tree64) {
    float part[64] = {};
    for (int64_t k = 0; k < n; ++k) part[k % 64] += t[static_cast<size_t>(k)];
    for (int w = 32; w >= 1; w /= 2)
      for (int l = 0; l < w; ++l) part[l] += part[l + w];
    return part[0];
  }
  float s = 0;
  if (order == Order::sequential) {
    for (int64_t k = 0; k < n; ++k) s += t[static_cast<size_t>(k)];
  } else {
    for (int64_t k = n - 1; k >= 0; --k) s += t[static_cast<size_t>(k)];
  }
  return s;
}

// ms of one BF16 row in binary32 (-ffp-contract=off: no FMA).
float model_ms(const uint16_t* x, int64_t n, bool pypto, Order order) {
  const float inv_n = static_cast<float>(1.0 / static_cast<double>(n));
  std::vector<float> t(static_cast<size_t>(n));
  for (int64_t k = 0; k < n; ++k) {
    const float v = bf16_to_float(x[k]);
    t[static_cast<size_t>(k)] = pypto ? (v * v) * inv_n : v * v;
  }
  const float s = sum(t, order);
  return pypto ? s : s / static_cast<float>(n);
}

// A binary32 evaluation of the declared form.
Tensor model(const Problem& p, const TensorMap& in, const Options& o) {
  const Tensor& x = in.at("x");
  const Tensor& g = in.at("gamma");
  const int64_t rows = x.rows(), n = x.row_len();
  const bool pypto = p.attr("form") == "pypto";
  const float eps = o.omit_eps ? 0.0f : static_cast<float>(p.attr_f64("eps"));
  Tensor y(DType::bf16, x.shape());
  for (int64_t r = 0; r < rows; ++r) {
    const uint16_t* xr = x.data<uint16_t>() + r * n;
    const float rr = 1.0f / std::sqrt(model_ms(xr, n, pypto, o.order) + eps);
    for (int64_t j = 0; j < n; ++j) {
      const float gj = g.dtype() == DType::fp32 ? g.data<float>()[j] : bf16_to_float(g.data<uint16_t>()[j]);
      y.data<uint16_t>()[r * n + j] = bf16_from_float(gj * (bf16_to_float(xr[j]) * rr));
    }
  }
  return y;
}

// The optimized kernel's ISA variants this CPU runs (optimized/rmsnorm.h, kRmsNormVariants).
using Variant = opt::RmsNormVariant;
std::vector<Variant> runnable_variants() { return opt::runnable_variants(opt::kRmsNormVariants); }

// Random inputs of one problem, by the catalog's generator.
TensorMap random_inputs(const Problem& p, uint64_t seed) {
  const KernelDecl& d = rmsnorm_decl();
  TensorMap t;
  t.emplace("x", make_tensor(d, p, "x"));
  t.emplace("gamma", make_tensor(d, p, "gamma"));
  CaseSpec cs;
  cs.problem = p;
  cs.scenario = "wide_range";
  Rng rng(seed);
  generate_rmsnorm(cs, t, rng);
  return t;
}

Problem problem(int64_t rows, int64_t n, bool pypto) {
  Problem p;
  p.kernel = "rmsnorm";
  p.dims = {{"rows", rows}, {"n", n}};
  p.attrs = {{"form", pypto ? "pypto" : "v4"}, {"gamma_dtype", pypto ? "bfloat16" : "float32"}};
  return complete_problem(rmsnorm_decl(), p);
}

opt::RmsNormRows args(const Problem& p, const TensorMap& in, Tensor* y) {
  opt::RmsNormRows a;
  a.x = in.at("x").data<uint16_t>();
  a.gamma = in.at("gamma").raw();
  a.gamma_f32 = in.at("gamma").dtype() == DType::fp32;
  a.form = p.attr("form") == "pypto" ? RmsNormForm::pypto : RmsNormForm::v4;
  a.n = p.dim("n");
  a.eps = static_cast<float>(p.attr_f64("eps"));
  a.inv_n = static_cast<float>(1.0 / static_cast<double>(a.n));
  a.fn = static_cast<float>(a.n);
  a.y = y ? y->data<uint16_t>() : nullptr;
  return a;
}

std::vector<const CaseSpec*> ci_cases() {
  std::vector<const CaseSpec*> out;
  for (const auto& cs : suite::catalog("rmsnorm").cases)
    if (cs.tier != Tier::nightly && cs.expect_error.empty()) out.push_back(&cs);
  return out;
}

CheckResult score(const Bundle& b, const Tensor& y) {
  CompareContext ctx;
  ctx.prerounding = &b.prerounding.at("y");
  ctx.budget = &b.budget.at("y");
  return compare_tensor("y", b.outputs.at("y"), y, rmsnorm_decl().find_tensor("y")->contract, nullptr, &ctx);
}

TEST(RmsNormKernel, Binary32Model) {
  int ran = 0;
  for (const CaseSpec* cs : ci_cases()) {
    const Bundle& b = suite::bundle_for(*cs);
    const Tensor want = model(b.problem, b.inputs, Options{});
    for (Isa isa : {Isa::avx512, Isa::avx2}) {
      auto be = make_isa_backend(isa);
      if (!be->availability().runnable) continue;
      ++ran;
      const TensorMap got = suite::call(rmsnorm_decl(), b, *be, TileConfig{}, 1);
      EXPECT_TRUE(got.at("y").same_bytes(want)) << cs->id << " on " << be->name();
    }
  }
  if (!ran) GTEST_SKIP() << "skipped: no optimized variant runs on this CPU";
}

TEST(RmsNormKernel, Binary32ModelRandomRows) {
  for (bool pypto : {true, false})
    for (int64_t n : {128, 100}) {
      const Problem p = problem(4096, n, pypto);
      const TensorMap in = random_inputs(p, static_cast<uint64_t>(n) + (pypto ? 1 : 2));
      const Tensor want = model(p, in, Options{});
      for (const Variant& v : runnable_variants()) {
        Tensor y(DType::bf16, want.shape());
        v.rows(args(p, in, &y), 0, p.dim("rows"));
        EXPECT_TRUE(y.same_bytes(want)) << isa_name(v.isa) << " n=" << n << (pypto ? " pypto" : " v4");
      }
    }
}

TEST(RmsNormKernel, ReductionOrder) {
  std::vector<int64_t> lengths;
  for (int64_t n = 1; n <= 200; ++n) lengths.push_back(n);
  for (int64_t n : {511, 512, 513, 1536, 7168}) lengths.push_back(n);
  for (bool pypto : {true, false})
    for (int64_t n : lengths) {
      const Problem p = problem(8, n, pypto);
      const TensorMap in = random_inputs(p, static_cast<uint64_t>(n) * 7 + (pypto ? 3 : 4));
      for (const Variant& v : runnable_variants())
        for (int64_t r = 0; r < 8; ++r) {
          const float want = model_ms(in.at("x").data<uint16_t>() + r * n, n, pypto, Order::tree64);
          const float got = v.ms(args(p, in, nullptr), r);
          ASSERT_EQ(f32_bits(got), f32_bits(want)) << isa_name(v.isa) << " n=" << n << " row " << r
                                                   << (pypto ? " pypto" : " v4");
        }
    }
}

TEST(RmsNormKernel, AnyOrderWithinContract) {
  for (const CaseSpec* cs : ci_cases()) {
    const Bundle& b = suite::bundle_for(*cs);
    for (Order order : {Order::sequential, Order::reversed}) {
      Options o;
      o.order = order;
      const CheckResult r = score(b, model(b.problem, b.inputs, o));
      EXPECT_TRUE(r.passed) << cs->id << " order " << static_cast<int>(order) << ": " << r.message;
    }
  }
}

TEST(RmsNormKernel, EpsOmittedIsCaught) {
  int caught = 0, tried = 0;
  for (const CaseSpec* cs : ci_cases()) {
    if (cs->scenario != "eps_dominated") continue;
    const Bundle& b = suite::bundle_for(*cs);
    Options o;
    o.omit_eps = true;
    ++tried;
    caught += score(b, model(b.problem, b.inputs, o)).passed ? 0 : 1;
  }
  ASSERT_GT(tried, 0);
  EXPECT_EQ(caught, tried);
}

TEST(RmsNormKernel, BadProblemsRejected) {
  const KernelDecl& d = rmsnorm_decl();
  auto check = [&](int64_t n, Attrs attrs, const char* needle) {
    Problem p;
    p.kernel = "rmsnorm";
    p.dims = {{"rows", 2}, {"n", n}};
    p.attrs = std::move(attrs);
    const Status s = validate_problem(d, complete_problem(d, p));
    EXPECT_FALSE(s.ok) << needle;
    EXPECT_NE(s.message.find(needle), std::string::npos) << s.message;
  };
  check(64, {{"form", "v4"}}, "gamma_dtype=float32");
  check(64, {{"gamma_dtype", "float32"}}, "gamma_dtype=bfloat16");
  check(64, {{"eps", "0"}}, "eps = 0");
  check(64, {{"eps", "-1e-6"}}, "eps = -1e-6");
  check(65537, {}, "n = 65537");
  check(0, {}, "n = 0");
}

}  // namespace
}  // namespace kcs
