// The plan API (kcs/backend.h: Backend::prepare, Plan::run): what a plan accepts and refuses, on
// the default plan (rmsnorm) and a packing one (gemm_i8 has none: its default plan; mla_prolog's
// packing plan is covered by the conformance suites' PlanSameBits). Refused calls write nothing.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "kcs/backend.h"
#include "kcs/formats.h"

namespace kcs {
namespace {

Problem rms_problem(int64_t rows, int64_t n, const std::string& eps = "1e-6") {
  Problem p;
  p.kernel = "rmsnorm";
  p.dims = {{"rows", rows}, {"n", n}};
  p.attrs = {{"eps", eps}};
  return complete_problem(kernel_or_throw("rmsnorm"), p);
}

TensorMap rms_io(const Problem& p) {
  const KernelDecl& d = kernel_or_throw("rmsnorm");
  TensorMap t;
  t["x"] = make_tensor(d, p, "x");
  for (int64_t i = 0; i < t["x"].numel(); ++i) t["x"].data<uint16_t>()[i] = bf16_from_double(0.25 * (i % 7) - 0.5);
  t["y"] = make_tensor(d, p, "y");
  t["y"].fill_bytes(0xA5);
  return t;
}

TensorMap rms_weights(const Problem& p) {
  TensorMap w;
  w["gamma"] = make_tensor(kernel_or_throw("rmsnorm"), p, "gamma");
  for (int64_t i = 0; i < w["gamma"].numel(); ++i) w["gamma"].data<uint16_t>()[i] = bf16_from_double(1.0 + 0.125 * (i % 5));
  return w;
}

std::vector<std::string> backends() { return {"reference", "avx512", "avx2", "optimized"}; }

TEST(Plan, SameBitsAsRunAndOtherTokenCounts) {
  const KernelDecl& d = kernel_or_throw("rmsnorm");
  for (const auto& name : backends()) {
    auto be = make_builtin_backend(name);
    if (!be->availability().runnable) continue;
    const Problem p = rms_problem(3, 40);
    std::unique_ptr<Plan> plan;
    {
      TensorMap w = rms_weights(p);
      ASSERT_TRUE(be->prepare({&d, &p, &w, TileConfig{}, 1}, &plan).ok) << name;
    }  // the plan keeps what it needs
    for (int64_t rows : {3, 1, 9, 0}) {  // rows: no weight uses it
      const Problem q = rms_problem(rows, 40);
      TensorMap direct = rms_io(q), planned = rms_io(q);
      TensorMap w = rms_weights(q);
      direct.insert(w.begin(), w.end());
      ASSERT_TRUE(be->run({&d, &q, &direct, TileConfig{}, 1}).ok) << name;
      const Status s = plan->run({&d, &q, &planned, TileConfig{}, 1});
      ASSERT_TRUE(s.ok) << name << ": " << s.message;
      EXPECT_TRUE(planned.at("y").same_bytes(direct.at("y"))) << name << " rows " << rows;
      EXPECT_EQ(planned.count("gamma"), 0u) << "the plan's weights are lent for the call only";
    }
    TensorMap own = rms_io(p);
    EXPECT_TRUE(plan->run({nullptr, nullptr, &own, TileConfig{}, 1}).ok) << "decl and problem default to the plan's";
  }
}

// Each refused call names the problem and leaves the outputs as they were.
void expect_refused(Plan& plan, const Problem& q, TensorMap t, const std::string& needle) {
  const TensorMap before = t;
  const Status s = plan.run({&kernel_or_throw("rmsnorm"), &q, &t, TileConfig{}, 1});
  EXPECT_FALSE(s.ok) << needle;
  EXPECT_NE(s.message.find(needle), std::string::npos) << s.message;
  for (const auto& [name, tensor] : before)
    if (t.count(name)) {
      EXPECT_TRUE(t.at(name).same_bytes(tensor)) << name << " written by a refused call";
    }
}

TEST(Plan, RefusesWhatDiffersFromThePreparedWeights) {
  const KernelDecl& d = kernel_or_throw("rmsnorm");
  auto be = make_builtin_backend("reference");
  const Problem p = rms_problem(2, 16);
  TensorMap w = rms_weights(p);
  std::unique_ptr<Plan> plan;
  ASSERT_TRUE(be->prepare({&d, &p, &w, TileConfig{}, 1}, &plan).ok);

  TensorMap with_weight = rms_io(p);
  with_weight["gamma"] = w.at("gamma");
  expect_refused(*plan, p, with_weight, "tensor 'gamma' is a weight");
  const Problem wider = rms_problem(2, 32);
  expect_refused(*plan, wider, rms_io(wider), "dimension n = 32 differs from the plan's 16");
  const Problem other_eps = rms_problem(2, 16, "1e-5");
  expect_refused(*plan, other_eps, rms_io(other_eps), "attribute eps = '1e-5' differs");
  TensorMap missing = rms_io(p);
  missing.erase("x");
  expect_refused(*plan, p, missing, "tensor 'x' is missing");
  const Problem bad = rms_problem(-1, 16);
  expect_refused(*plan, bad, rms_io(p), "dimension rows = -1 is below its minimum");

  TensorMap q8;
  Problem other;
  other.kernel = "q8";
  Status s = plan->run({&kernel_or_throw("q8"), &other, &q8, TileConfig{}, 1});
  EXPECT_FALSE(s.ok);
  EXPECT_NE(s.message.find("the plan is for kernel rmsnorm, the call for q8"), std::string::npos) << s.message;
}

TEST(Plan, PrepareTakesTheWeightsOnly) {
  const KernelDecl& d = kernel_or_throw("rmsnorm");
  auto be = make_builtin_backend("reference");
  const Problem p = rms_problem(2, 16);
  std::unique_ptr<Plan> plan;
  TensorMap all = rms_io(p);
  all["gamma"] = rms_weights(p).at("gamma");
  Status s = be->prepare({&d, &p, &all, TileConfig{}, 1}, &plan);
  EXPECT_FALSE(s.ok);
  EXPECT_NE(s.message.find("is not a weight: prepare() takes only the weights"), std::string::npos) << s.message;
  EXPECT_EQ(plan, nullptr);
  TensorMap none;
  s = be->prepare({&d, &p, &none, TileConfig{}, 1}, &plan);
  EXPECT_NE(s.message.find("tensor 'gamma' is missing"), std::string::npos) << s.message;
  TensorMap wrong;
  wrong["gamma"] = Tensor(DType::bf16, {8});
  s = be->prepare({&d, &p, &wrong, TileConfig{}, 1}, &plan);
  EXPECT_NE(s.message.find("tensor 'gamma' has shape [8], expected [16]"), std::string::npos) << s.message;
  EXPECT_FALSE(be->prepare({&d, &p, &wrong, TileConfig{}, 1}, nullptr).ok);
}

}  // namespace
}  // namespace kcs
