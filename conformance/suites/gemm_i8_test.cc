// gemm_i8 conformance (spec §1.2): acc and y bit-exact against the reference, plus properties of
// the declaration and of the fixtures that the generic sweep cannot see.
#include "kcs/kernels/gemm_i8.h"

#include <cmath>
#include <cstdint>
#include <string>

#include "conformance/suites/suite.h"
#include "kcs/formats.h"

KCS_CONFORMANCE_SUITE(gemm_i8)

namespace kcs {
namespace {

Problem gemm_problem(int64_t m, int64_t k, int64_t n) {
  Problem p;
  p.kernel = "gemm_i8";
  p.dims = {{"m", m}, {"k", k}, {"n", n}};
  return complete_problem(kernel_or_throw("gemm_i8"), p);
}

// Spec §1.2: int32 accumulation is exact only for K < 131072; the declaration must refuse more,
// naming the dimension, before anything runs.
TEST(GemmI8Decl, RejectsKAtTheInt32Bound) {
  const KernelDecl& d = kernel_or_throw("gemm_i8");
  EXPECT_TRUE(validate_problem(d, gemm_problem(1, kGemmI8MaxK, 1)).ok);
  const Status s = validate_problem(d, gemm_problem(1, kGemmI8MaxK + 1, 1));
  EXPECT_FALSE(s.ok);
  EXPECT_NE(s.message.find("dimension k = 131072"), std::string::npos) << s.message;
  EXPECT_FALSE(validate_problem(d, gemm_problem(1, 0, 1)).ok) << "k = 0 must be rejected";
  EXPECT_FALSE(validate_problem(d, gemm_problem(1, 4, 0)).ok) << "n = 0 must be rejected";
  EXPECT_TRUE(validate_problem(d, gemm_problem(0, 4, 4)).ok) << "m = 0 is a no-op, not an error";
}

const CaseSpec& ci_case(const std::string& id) {
  const CaseSpec* cs = find_case(suite::catalog("gemm_i8"), id);
  if (!cs) throw Error("catalog lacks " + id);
  return *cs;
}

// The extreme scenario exists to make f32(acc) round (|acc| > 2^24 and odd): the fixture must
// really contain such accumulators, and y must be built from the ROUNDED value.
TEST(GemmI8Fixture, ExtremeCaseRoundsTheAccumulator) {
  const Bundle& b = suite::bundle_for(ci_case("gemm_i8.extreme.m=7.k=1536.n=17.out_dtype=float32"));
  const Tensor& acc = b.outputs.at("acc");
  const Tensor& y = b.outputs.at("y");
  const float* sr = b.inputs.at("s_row").data<float>();
  const float* sc = b.inputs.at("s_col").data<float>();
  const int64_t n = acc.dim(1);
  int64_t rounded = 0, negative_big = 0;
  for (int64_t i = 0; i < acc.numel(); ++i) {
    const int32_t v = acc.data<int32_t>()[i];
    const float f = static_cast<float>(v);
    if (static_cast<double>(f) != static_cast<double>(v)) ++rounded;
    if (v < -(1 << 24)) ++negative_big;
    const float want = (f * sr[i / n]) * sc[i % n];
    ASSERT_EQ(f32_bits(y.data<float>()[i]), f32_bits(want)) << "element " << i;
  }
  EXPECT_GT(rounded, 0) << "no accumulator in the extreme case needs rounding to binary32";
  EXPECT_GT(negative_big, 0) << "no accumulator below -2^24 in the extreme case";
}

// The dequant order is normative (row scale first, spec §1.2 / §12 D5): on random data it must
// differ from the other order somewhere, and the reference must follow the spec's order.
TEST(GemmI8Fixture, DequantOrderIsRowThenColumn) {
  const Bundle& b = suite::bundle_for(ci_case("gemm_i8.random.m=33.k=1536.n=130.out_dtype=float32"));
  const Tensor& acc = b.outputs.at("acc");
  const float* y = b.outputs.at("y").data<float>();
  const float* sr = b.inputs.at("s_row").data<float>();
  const float* sc = b.inputs.at("s_col").data<float>();
  const int64_t n = acc.dim(1);
  int64_t order_matters = 0;
  for (int64_t i = 0; i < acc.numel(); ++i) {
    const float f = static_cast<float>(acc.data<int32_t>()[i]);
    const float spec = (f * sr[i / n]) * sc[i % n];
    const float other = f * (sr[i / n] * sc[i % n]);
    ASSERT_EQ(f32_bits(y[i]), f32_bits(spec)) << "element " << i;
    order_matters += f32_bits(spec) != f32_bits(other);
  }
  EXPECT_GT(order_matters, 0) << "the case cannot tell the two dequant orders apart";
}

}  // namespace
}  // namespace kcs
