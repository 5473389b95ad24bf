// Dense Hadamard conformance (spec §1.5): y = bf16(x · M) under the §10.4 single-GEMM rule, and
// the promise that it is gemm_bf16 (B = 1, K = N = D, BF16 out) on every backend, bit for bit.
#include <cstring>

#include "conformance/suites/suite.h"

KCS_CONFORMANCE_SUITE(hadamard)

namespace {

class HadamardCase : public testing::TestWithParam<kcs::suite::Param> {};

TEST_P(HadamardCase, SameBitsAsGemmBf16) {
  const kcs::KernelDecl& had = kcs::kernel_or_throw("hadamard");
  const kcs::KernelDecl& gemm = kcs::kernel_or_throw("gemm_bf16");
  const kcs::CaseSpec* cs = kcs::find_case(kcs::suite::catalog("hadamard"), GetParam().case_id);
  ASSERT_NE(cs, nullptr);
  const kcs::Bundle& b = kcs::suite::bundle_for(*cs);
  const int64_t T = b.problem.dim("T"), D = b.problem.dim("D");
  kcs::Problem gp;
  gp.kernel = "gemm_bf16";
  gp.dims = {{"B", 1}, {"M", T}, {"K", D}, {"N", D}};
  gp.attrs = {{"out_dtype", "bfloat16"}};
  gp = kcs::complete_problem(gemm, gp);
  int ran = 0;
  for (const auto& be : kcs::builtin_backends()) {
    if (!be->availability().runnable) continue;
    ++ran;
    for (const char* tile : {"default", "k_block=64"}) {
      const kcs::TileConfig t = kcs::TileConfig::parse(tile);
      kcs::TensorMap ht;
      ht.emplace("x", b.inputs.at("x"));
      ht.emplace("hadamard", b.inputs.at("hadamard"));
      ht.emplace("y", kcs::make_tensor(had, b.problem, "y"));
      kcs::Invocation hi{&had, &b.problem, &ht, t, 1};
      ASSERT_TRUE(be->run(hi).ok);
      kcs::TensorMap gt;
      gt.emplace("a", kcs::make_tensor(gemm, gp, "a"));
      gt.emplace("w", kcs::make_tensor(gemm, gp, "w"));
      gt.emplace("y", kcs::make_tensor(gemm, gp, "y"));
      std::memcpy(gt.at("a").raw(), b.inputs.at("x").raw(), b.inputs.at("x").nbytes());
      std::memcpy(gt.at("w").raw(), b.inputs.at("hadamard").raw(), b.inputs.at("hadamard").nbytes());
      kcs::Invocation gi{&gemm, &gp, &gt, t, 1};
      ASSERT_TRUE(be->run(gi).ok);
      EXPECT_EQ(0, std::memcmp(ht.at("y").raw(), gt.at("y").raw(), ht.at("y").nbytes()))
          << be->name() << " tile " << tile << ": hadamard and gemm_bf16 differ";
    }
  }
  if (!ran) GTEST_SKIP() << "no backend runs here";
}

INSTANTIATE_TEST_SUITE_P(hadamard, HadamardCase, testing::ValuesIn(kcs::suite::case_params("hadamard")),
                         kcs::suite::param_name);

}  // namespace
