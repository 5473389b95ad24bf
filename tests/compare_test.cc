// Tests for the comparison engine (conformance/compare): every contract passes at its limit and
// fails just beyond it, NaN/Inf/±0 rules, metrics (worst elements, worst row, histogram, cosine,
// SNR), row masks, untouched checks and packed-format addressing.
#include "conformance/compare/compare.h"
#include "conformance/compare/diagnosis.h"

#include <gtest/gtest.h>

#include <cfloat>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <map>
#include <utility>
#include <string>
#include <vector>

#include "kcs/formats.h"
#include "kcs/status.h"

namespace {

using kcs::CheckResult;
using kcs::Contract;
using kcs::DType;
using kcs::Shape;
using kcs::Tensor;

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr int64_t kI64Max = std::numeric_limits<int64_t>::max();

template <class T>
Tensor make(DType t, Shape shape, const std::vector<T>& v) {
  Tensor x(t, std::move(shape));
  EXPECT_EQ(static_cast<size_t>(x.numel()), v.size());
  std::memcpy(x.raw(), v.data(), v.size() * sizeof(T));
  return x;
}

Tensor bf16(Shape shape, const std::vector<uint16_t>& bits) { return make(DType::bf16, std::move(shape), bits); }
Tensor fp16(Shape shape, const std::vector<uint16_t>& bits) { return make(DType::fp16, std::move(shape), bits); }
Tensor f32(Shape shape, const std::vector<float>& v) { return make(DType::fp32, std::move(shape), v); }
Tensor i8(Shape shape, const std::vector<int8_t>& v) { return make(DType::i8, std::move(shape), v); }

template <class T>
T& at(Tensor& t, int64_t i) {
  return t.data<T>()[i];
}

// ---- element access, distances ---------------------------------------------------------------

TEST(LogicalShape, PackedFormatsExpandTheLastDim) {
  EXPECT_EQ(kcs::logical_shape(Tensor(DType::bf16, {3, 4})), (Shape{3, 4}));
  EXPECT_EQ(kcs::logical_shape(Tensor(DType::e2m1x2, {3, 4})), (Shape{3, 8}));
  EXPECT_EQ(kcs::logical_shape(Tensor(DType::ue4m3x4, {2, 5})), (Shape{2, 20}));
  EXPECT_EQ(kcs::logical_shape(Tensor(DType::e2m1x2, {})), (Shape{2}));
}

TEST(Unravel, RowMajor) {
  EXPECT_EQ(kcs::unravel({2, 3, 4}, 0), (std::vector<int64_t>{0, 0, 0}));
  EXPECT_EQ(kcs::unravel({2, 3, 4}, 23), (std::vector<int64_t>{1, 2, 3}));
  EXPECT_EQ(kcs::unravel({2, 3, 4}, 6), (std::vector<int64_t>{0, 1, 2}));
  EXPECT_NE(kcs::unravel({2, 3, 4}, 6), (std::vector<int64_t>{0, 2, 1}));
}

TEST(ElementValue, DecodesEveryDtype) {
  EXPECT_EQ(kcs::element_value(bf16({2}, {0x3F80, 0xC040}), 1), -3.0);
  EXPECT_EQ(kcs::element_value(fp16({1}, {0x3C00}), 0), 1.0);
  EXPECT_EQ(kcs::element_value(i8({2}, {-5, 7}), 0), -5.0);
  // e2m1x2: byte 0x72 holds code 2 (1.0) in the low nibble = element 0, code 7 (6.0) = element 1.
  Tensor p = make<uint8_t>(DType::e2m1x2, {1, 2}, {0x72, 0xA0});
  EXPECT_EQ(kcs::element_value(p, 0), 1.0);
  EXPECT_EQ(kcs::element_value(p, 1), 6.0);
  EXPECT_EQ(kcs::element_value(p, 2), 0.0);
  EXPECT_EQ(kcs::element_value(p, 3), -1.0);  // code 0xA = -1.0
  // ue4m3x4: byte k of the little-endian int32 is element k; 0x38 = 1.0, 0x40 = 2.0.
  Tensor s = make<int32_t>(DType::ue4m3x4, {1}, {0x00400038});
  EXPECT_EQ(kcs::element_value(s, 0), 1.0);
  EXPECT_EQ(kcs::element_value(s, 1), 0.0);
  EXPECT_EQ(kcs::element_value(s, 2), 2.0);
  EXPECT_THROW(kcs::element_value(s, 4), kcs::Error);
  EXPECT_THROW(kcs::element_value(s, -1), kcs::Error);
}

TEST(ElementUlp, SixteenBitOrdinalAcrossZero) {
  for (DType t : {DType::bf16, DType::fp16}) {
    SCOPED_TRACE(kcs::dtype_name(t));
    const uint16_t one = t == DType::bf16 ? 0x3F80 : 0x3C00;
    Tensor e = make<uint16_t>(t, {5}, {one, 0x0000, 0x0001, 0x0001, one});
    Tensor a = make<uint16_t>(t, {5}, {uint16_t(one + 1), 0x8000, 0x8001, 0x8000, uint16_t(one + 2)});
    EXPECT_EQ(kcs::element_ulp(e, a, 0), 1);
    EXPECT_EQ(kcs::element_ulp(e, a, 1), 0);  // +0 vs -0 (raw int16 subtraction would say 32768)
    EXPECT_EQ(kcs::element_ulp(e, a, 2), 2);  // smallest positive vs smallest negative
    EXPECT_EQ(kcs::element_ulp(e, a, 3), 1);
    EXPECT_EQ(kcs::element_ulp(e, a, 4), 2);
  }
}

TEST(ElementUlp, NanAndInf) {
  // bf16: 0x7FC0 / 0x7FC1 NaN (payloads differ), 0x7F80 +Inf, 0xFF80 -Inf, 0x7F7F max finite.
  Tensor e = bf16({6}, {0x7FC0, 0x7FC0, 0x3F80, 0x7F80, 0x7F80, 0x7F80});
  Tensor a = bf16({6}, {0x7FC1, 0x3F80, 0xFFC0, 0x7F80, 0x7F7F, 0xFF80});
  EXPECT_EQ(kcs::element_ulp(e, a, 0), 0);
  EXPECT_EQ(kcs::element_ulp(e, a, 1), -1);
  EXPECT_EQ(kcs::element_ulp(e, a, 2), -1);
  EXPECT_EQ(kcs::element_ulp(e, a, 3), 0);
  EXPECT_EQ(kcs::element_ulp(e, a, 4), kI64Max);  // an overflow is not "1 ulp"
  EXPECT_EQ(kcs::element_ulp(e, a, 5), kI64Max);
  EXPECT_THROW(kcs::element_ulp(e, f32({6}, {0, 0, 0, 0, 0, 0}), 0), kcs::Error);
}

TEST(ElementUlp, WideFormatsSaturateInsteadOfOverflowing) {
  Tensor e64 = make<double>(DType::fp64, {3}, {1.0, -DBL_MAX, 0.0});
  Tensor a64 = make<double>(DType::fp64, {3}, {std::nextafter(1.0, 2.0), DBL_MAX, -DBL_MIN});
  EXPECT_EQ(kcs::element_ulp(e64, a64, 0), 1);
  EXPECT_EQ(kcs::element_ulp(e64, a64, 1), kI64Max);  // true distance ~2^64: saturated
  EXPECT_EQ(kcs::element_ulp(e64, a64, 2), int64_t{1} << 52);
  Tensor e32 = f32({2}, {-FLT_MAX, 1.0f});
  Tensor a32 = f32({2}, {FLT_MAX, 1.0f});
  EXPECT_EQ(kcs::element_ulp(e32, a32, 0), 2 * int64_t{0x7F7FFFFF});
  EXPECT_EQ(kcs::element_ulp(e32, a32, 1), 0);
  Tensor ei = make<int64_t>(DType::i64, {2}, {INT64_MIN, 5});
  Tensor ai = make<int64_t>(DType::i64, {2}, {INT64_MAX, -5});
  EXPECT_EQ(kcs::element_ulp(ei, ai, 0), kI64Max);
  EXPECT_EQ(kcs::element_ulp(ei, ai, 1), 10);
  EXPECT_EQ(kcs::element_ulp(i8({1}, {-128}), i8({1}, {127}), 0), 255);
}

TEST(ElementUlp, SmallFloatCodes) {
  // e2m1: 0x1 = +0.5, 0x9 = -0.5, 0x8 = -0.
  Tensor e = make<uint8_t>(DType::e2m1x2, {2}, {kcs::pack_e2m1x2(0x1, 0x0), kcs::pack_e2m1x2(0x7, 0x1)});
  Tensor a = make<uint8_t>(DType::e2m1x2, {2}, {kcs::pack_e2m1x2(0x9, 0x8), kcs::pack_e2m1x2(0x5, 0x1)});
  EXPECT_EQ(kcs::element_ulp(e, a, 0), 2);
  EXPECT_EQ(kcs::element_ulp(e, a, 1), 0);
  EXPECT_EQ(kcs::element_ulp(e, a, 2), 2);
  EXPECT_EQ(kcs::element_ulp(e, a, 3), 0);
  // e4m3: 0x7F is NaN; 0x7E = 448 is one below it but a NaN mismatch, not 1 ulp.
  Tensor se = make<int32_t>(DType::ue4m3x4, {1}, {0x7F7F0038});
  Tensor sa = make<int32_t>(DType::ue4m3x4, {1}, {0x7E7F0039});
  EXPECT_EQ(kcs::element_ulp(se, sa, 0), 1);
  EXPECT_EQ(kcs::element_ulp(se, sa, 2), 0);
  EXPECT_EQ(kcs::element_ulp(se, sa, 3), -1);
}

TEST(AllowedCount, CeilWithIntegerTolerance) {
  EXPECT_EQ(kcs::allowed_count(0.01, 100), 1);
  EXPECT_EQ(kcs::allowed_count(0.01, 150), 2);  // ceil(1.5)
  EXPECT_EQ(kcs::allowed_count(0.01, 101), 2);  // ceil(1.01)
  EXPECT_EQ(kcs::allowed_count(0.07, 100), 7);  // 0.07*100 = 7.000000000000001 in double
  EXPECT_EQ(kcs::allowed_count(0.005, 2048), 11);
  EXPECT_EQ(kcs::allowed_count(0, 1000), 0);
  EXPECT_EQ(kcs::allowed_count(1.0, 1000), 1000);
  EXPECT_EQ(kcs::allowed_count(0.5, 0), 0);
}

// ---- exact -----------------------------------------------------------------------------------

TEST(Exact, PassesWhenIdenticalFailsOnOneFlippedBit) {
  Tensor e = bf16({2, 4}, {0x3F80, 0x4000, 0x4040, 0x4080, 0xBF80, 0, 0x7FC0, 0x7F80});
  Tensor a = e;
  at<uint16_t>(a, 6) = 0x7FC5;  // NaN payloads do not matter
  CheckResult ok = kcs::compare_tensor("y", e, a, Contract::Exact());
  EXPECT_TRUE(ok.passed) << ok.message;
  EXPECT_EQ(ok.margin, 0);
  EXPECT_EQ(ok.contract, "exact");
  EXPECT_EQ(ok.metrics.numel, 8);
  EXPECT_EQ(ok.metrics.mismatches, 0);
  EXPECT_EQ(ok.metrics.ulp_hist[0], 8);
  EXPECT_TRUE(ok.message.empty());

  at<uint16_t>(a, 2) ^= 0x0001;
  CheckResult bad = kcs::compare_tensor("y", e, a, Contract::Exact());
  EXPECT_FALSE(bad.passed);
  EXPECT_EQ(bad.margin, kInf);
  EXPECT_EQ(bad.metrics.mismatches, 1);
  EXPECT_DOUBLE_EQ(bad.metrics.mismatch_ratio, 1.0 / 8);
  EXPECT_EQ(bad.metrics.ulp_hist[1], 1);
  EXPECT_EQ(bad.message, "y[0, 2]: expected 3 [0x4040], got 3.015625 [0x4041] (1 ulp); 1 of 8 elements differ (12.5%), allowed 0");
}

TEST(Exact, SignedZeroIsAMismatchWithZeroUlp) {
  Tensor e = bf16({2}, {0x0000, 0x3F80});
  Tensor a = bf16({2}, {0x8000, 0x3F80});
  CheckResult r = kcs::compare_tensor("y", e, a, Contract::Exact());
  EXPECT_FALSE(r.passed);
  EXPECT_EQ(r.metrics.mismatches, 1);
  EXPECT_EQ(r.metrics.max_ulp, 0);
  EXPECT_EQ(r.metrics.ulp_hist[0], 2);
  ASSERT_EQ(r.metrics.worst.size(), 1u);
  EXPECT_EQ(r.metrics.worst[0].ulp, 0);
  EXPECT_EQ(r.metrics.worst[0].index, (std::vector<int64_t>{0}));
  EXPECT_NE(r.message.find("y[0]: expected 0 [0x0000], got -0 [0x8000] (0 ulp, other code for the same value)"),
            std::string::npos)
      << r.message;
  // The same pair is within max_ulp(0): d_ulp(+0, -0) = 0.
  CheckResult u = kcs::compare_tensor("y", e, a, Contract::MaxUlp(0));
  EXPECT_TRUE(u.passed) << u.message;
  EXPECT_EQ(u.margin, 0);
}

TEST(Exact, IntegerCodesMessage) {
  Tensor e(DType::i8, {4, 32});
  for (int64_t i = 0; i < e.numel(); ++i) at<int8_t>(e, i) = static_cast<int8_t>(i % 100);
  Tensor a = e;
  at<int8_t>(a, 3 * 32 + 17) = static_cast<int8_t>(at<int8_t>(e, 3 * 32 + 17) + 2);
  CheckResult r = kcs::compare_tensor("codes", e, a, Contract::Exact());
  EXPECT_FALSE(r.passed);
  EXPECT_EQ(r.message, "codes[3, 17]: expected 13, got 15 (diff 2); 1 of 128 elements differ (0.781%), allowed 0");
}

// ---- max_ulp ---------------------------------------------------------------------------------

TEST(MaxUlp, OneUlpPassesTwoFailBothSixteenBitFormats) {
  for (DType t : {DType::bf16, DType::fp16}) {
    SCOPED_TRACE(kcs::dtype_name(t));
    const uint16_t one = t == DType::bf16 ? 0x3F80 : 0x3C00;
    const uint16_t m1 = t == DType::bf16 ? 0xBF80 : 0xBC00;
    Tensor e = make<uint16_t>(t, {5}, {one, m1, 0x0000, 0x0001, 0x8000});
    // at the limit: +1 ulp, -1 ulp on a negative, +0 vs -0, tiny positive vs -0, -0 vs tiny negative
    Tensor a = make<uint16_t>(t, {5}, {uint16_t(one + 1), uint16_t(m1 + 1), 0x8000, 0x8000, 0x8001});
    CheckResult ok = kcs::compare_tensor("y", e, a, Contract::MaxUlp(1));
    EXPECT_TRUE(ok.passed) << ok.message;
    EXPECT_EQ(ok.margin, 1.0);
    EXPECT_EQ(ok.metrics.max_ulp, 1);
    EXPECT_EQ(ok.metrics.mismatches, 5);
    EXPECT_EQ(ok.metrics.ulp_hist[0], 1);
    EXPECT_EQ(ok.metrics.ulp_hist[1], 4);

    Tensor b = a;
    at<uint16_t>(b, 0) = static_cast<uint16_t>(one + 2);
    CheckResult two = kcs::compare_tensor("y", e, b, Contract::MaxUlp(1));
    EXPECT_FALSE(two.passed);
    EXPECT_EQ(two.margin, 2.0);
    EXPECT_EQ(two.metrics.ulp_hist[2], 1);
    EXPECT_NE(two.message.find("y[0]: expected 1 ["), std::string::npos) << two.message;
    EXPECT_NE(two.message.find("(2 ulp, allowed 1); 1 of 5 elements exceed 1 ulp (20%)"), std::string::npos)
        << two.message;

    // Across zero: smallest positive vs smallest negative is 2 ulp.
    Tensor c = a;
    at<uint16_t>(c, 3) = 0x8001;
    CheckResult across = kcs::compare_tensor("y", e, c, Contract::MaxUlp(1));
    EXPECT_FALSE(across.passed);
    EXPECT_EQ(across.metrics.max_ulp, 2);
    ASSERT_FALSE(across.metrics.worst.empty());
    EXPECT_EQ(across.metrics.worst[0].index, (std::vector<int64_t>{3}));
  }
}

TEST(MaxUlp, InfMatchesOnlyTheSameInf) {
  Tensor e = bf16({3}, {0x7F80, 0xFF80, 0x7F80});
  CheckResult ok = kcs::compare_tensor("y", e, e, Contract::MaxUlp(1));
  EXPECT_TRUE(ok.passed);
  EXPECT_EQ(ok.metrics.max_abs, 0);
  Tensor a = bf16({3}, {0x7F80, 0xFF80, 0x7F7F});  // +Inf vs max finite
  CheckResult bad = kcs::compare_tensor("y", e, a, Contract::MaxUlp(1000));
  EXPECT_FALSE(bad.passed);
  EXPECT_EQ(bad.metrics.max_ulp, kI64Max);
  EXPECT_EQ(bad.metrics.ulp_hist[6], 1);
  EXPECT_EQ(bad.metrics.max_abs, kInf);
  EXPECT_NE(bad.message.find("expected inf [0x7f80], got 3.38953139e+38 [0x7f7f] (Inf mismatch"), std::string::npos)
      << bad.message;
}

TEST(MaxUlp, Fp32AndZeroLimit) {
  const float x = 1.5f;
  Tensor e = f32({2}, {x, -2.0f});
  Tensor a = f32({2}, {std::nextafter(x, 2.0f), -2.0f});
  EXPECT_TRUE(kcs::compare_tensor("y", e, a, Contract::MaxUlp(1)).passed);
  CheckResult z = kcs::compare_tensor("y", e, a, Contract::MaxUlp(0));
  EXPECT_FALSE(z.passed);
  EXPECT_EQ(z.margin, kInf);
}

// ---- int_code --------------------------------------------------------------------------------

TEST(IntCode, DiffAndCeilRatioBoundaries) {
  Tensor e(DType::i8, {150});
  for (int64_t i = 0; i < 150; ++i) at<int8_t>(e, i) = static_cast<int8_t>(i - 75);
  const Contract c = Contract::IntCode(1, 0.01);  // allowed = ceil(1.5) = 2
  Tensor a = e;
  at<int8_t>(a, 10) += 1;
  at<int8_t>(a, 20) -= 1;
  CheckResult ok = kcs::compare_tensor("q", e, a, c);
  EXPECT_TRUE(ok.passed) << ok.message;
  EXPECT_EQ(ok.margin, 1.0);  // max(1/1, 2/2)
  EXPECT_EQ(ok.contract, "int_code(1, 1%)");

  at<int8_t>(a, 30) += 1;  // 3 > ceil(1.5)
  CheckResult count = kcs::compare_tensor("q", e, a, c);
  EXPECT_FALSE(count.passed);
  EXPECT_DOUBLE_EQ(count.margin, 1.5);
  EXPECT_NE(count.message.find("3 of 150 elements differ (2%), allowed 2 (1%)"), std::string::npos) << count.message;

  Tensor b = e;
  at<int8_t>(b, 5) += 2;  // one element, diff 2 > 1
  CheckResult diff = kcs::compare_tensor("q", e, b, c);
  EXPECT_FALSE(diff.passed);
  EXPECT_EQ(diff.margin, 2.0);
  EXPECT_NE(diff.message.find("q[5]: expected -70, got -68 (diff 2, allowed 1)"), std::string::npos) << diff.message;
}

TEST(IntCode, RatioThatIsAlmostAnInteger) {
  Tensor e(DType::i32, {10, 10});
  Tensor a = e;
  const Contract c = Contract::IntCode(1, 0.07);
  for (int i = 0; i < 7; ++i) at<int32_t>(a, i * 13) = 1;
  CheckResult ok = kcs::compare_tensor("q", e, a, c);
  EXPECT_TRUE(ok.passed) << ok.message;
  EXPECT_EQ(ok.margin, 1.0);
  at<int32_t>(a, 99) = -1;
  CheckResult bad = kcs::compare_tensor("q", e, a, c);
  EXPECT_FALSE(bad.passed);
  EXPECT_DOUBLE_EQ(bad.margin, 8.0 / 7.0);
}

TEST(IntCode, ZeroRatioMeansNoDifferences) {
  Tensor e = i8({4}, {1, 2, 3, 4});
  CheckResult ok = kcs::compare_tensor("q", e, e, Contract::IntCode(1, 0));
  EXPECT_TRUE(ok.passed);
  EXPECT_EQ(ok.margin, 0);
  Tensor a = i8({4}, {1, 2, 3, 5});
  CheckResult bad = kcs::compare_tensor("q", e, a, Contract::IntCode(1, 0));
  EXPECT_FALSE(bad.passed);
  EXPECT_EQ(bad.margin, kInf);
}

// ---- abs_rel ---------------------------------------------------------------------------------

TEST(AbsRel, ToleranceBoundaryAndRatio) {
  // tol = 0.25 + 0.5*|e|: e = 2 -> 1.25, e = -4 -> 2.25 (all exactly representable).
  const Contract c = Contract::AbsRel(0.25, 0.5, 0);
  Tensor e = f32({2}, {2.0f, -4.0f});
  Tensor a = f32({2}, {3.25f, -1.75f});
  CheckResult ok = kcs::compare_tensor("s", e, a, c);
  EXPECT_TRUE(ok.passed) << ok.message;
  EXPECT_EQ(ok.margin, 1.0);
  EXPECT_EQ(ok.metrics.max_abs, 2.25);
  EXPECT_DOUBLE_EQ(ok.metrics.max_rel, 0.625);

  Tensor b = f32({2}, {std::nextafter(3.25f, 4.0f), -1.75f});
  CheckResult bad = kcs::compare_tensor("s", e, b, c);
  EXPECT_FALSE(bad.passed);
  EXPECT_EQ(bad.margin, kInf);  // 1 violation, ceil(0 * 2) = 0 allowed
  EXPECT_NE(bad.message.find("s[0]: expected 2, got 3.25000024 (|err| 1.25000024 > tol 1.25); 1 of 2 elements violate"),
            std::string::npos)
      << bad.message;

  // With rho = 50% one violation of two is allowed, two are not.
  const Contract half = Contract::AbsRel(0.25, 0.5, 0.5);
  CheckResult one = kcs::compare_tensor("s", e, b, half);
  EXPECT_TRUE(one.passed) << one.message;
  EXPECT_EQ(one.margin, 1.0);
  Tensor both = f32({2}, {4.0f, 0.0f});
  CheckResult two = kcs::compare_tensor("s", e, both, half);
  EXPECT_FALSE(two.passed);
  EXPECT_EQ(two.margin, 2.0);
}

TEST(AbsRel, InfOnOneSideViolatesDespiteInfiniteTolerance) {
  Tensor e = f32({1}, {std::numeric_limits<float>::infinity()});
  Tensor a = f32({1}, {FLT_MAX});
  CheckResult r = kcs::compare_tensor("s", e, a, Contract::AbsRel(1, 1, 0));
  EXPECT_FALSE(r.passed);
  EXPECT_NE(r.message.find("Inf mismatch"), std::string::npos) << r.message;
  EXPECT_TRUE(kcs::compare_tensor("s", e, e, Contract::AbsRel(1, 1, 0)).passed);
}

// ---- NaN -------------------------------------------------------------------------------------

TEST(Nan, NanEqualsNanAndFailsEveryContractAgainstANumber) {
  const float qnan = std::numeric_limits<float>::quiet_NaN();
  Tensor e = f32({4}, {qnan, 1.0f, 2.0f, 3.0f});
  Tensor same = f32({4}, {kcs::f32_from_bits(0xFFC01234u), 1.0f, 2.0f, 3.0f});  // other payload and sign
  const Contract contracts[] = {Contract::Exact(), Contract::MaxUlp(1000000), Contract::IntCode(1e9, 1.0),
                                Contract::AbsRel(1e30, 1e30, 1.0)};
  for (const Contract& c : contracts) {
    SCOPED_TRACE(c.str());
    CheckResult ok = kcs::compare_tensor("y", e, same, c);
    EXPECT_TRUE(ok.passed) << ok.message;
    EXPECT_EQ(ok.metrics.mismatches, 0);
    EXPECT_EQ(ok.metrics.ulp_hist[7], 0);
  }
  Tensor a = f32({4}, {qnan, 1.0f, qnan, 3.0f});  // NaN where a number is expected
  Tensor b = f32({4}, {0.0f, 1.0f, 2.0f, 3.0f});  // number where NaN is expected
  for (const Tensor* bad : {&a, &b}) {
    for (const Contract& c : contracts) {
      SCOPED_TRACE(c.str());
      CheckResult r = kcs::compare_tensor("y", e, *bad, c);
      EXPECT_FALSE(r.passed);
      EXPECT_EQ(r.margin, kInf);
      EXPECT_EQ(r.metrics.ulp_hist[7], 1);
      EXPECT_EQ(r.metrics.mismatches, 1);
      ASSERT_EQ(r.metrics.worst.size(), 1u);
      EXPECT_EQ(r.metrics.worst[0].ulp, -1);
      EXPECT_TRUE(std::isnan(r.metrics.worst[0].abs_err));
      EXPECT_NE(r.message.find("NaN mismatch"), std::string::npos) << r.message;
    }
  }
}

// ---- metrics ---------------------------------------------------------------------------------

TEST(Metrics, WorstElementsRankedWithNdIndices) {
  // bf16 [2, 3, 4]; all elements 1.0 except the planted differences.
  Tensor e(DType::bf16, {2, 3, 4});
  for (int64_t i = 0; i < e.numel(); ++i) at<uint16_t>(e, i) = 0x3F80;
  at<uint16_t>(e, 8) = 0x4180;  // 16.0 at [0, 2, 0]: its ulp is 16x larger
  Tensor a = e;
  at<uint16_t>(a, 23) += 5;  // [1, 2, 3]: 5 ulp
  at<uint16_t>(a, 6) += 3;   // [0, 1, 2]: 3 ulp of 1.0
  at<uint16_t>(a, 8) += 3;   // [0, 2, 0]: 3 ulp of 16.0, larger abs error -> ranks before [0, 1, 2]
  at<uint16_t>(a, 12) -= 1;  // [1, 0, 0]: 1 ulp
  CheckResult r = kcs::compare_tensor("y", e, a, Contract::MaxUlp(2));
  EXPECT_FALSE(r.passed);
  EXPECT_DOUBLE_EQ(r.margin, 2.5);
  ASSERT_EQ(r.metrics.worst.size(), 4u);
  EXPECT_EQ(r.metrics.worst[0].index, (std::vector<int64_t>{1, 2, 3}));
  EXPECT_EQ(r.metrics.worst[0].ulp, 5);
  EXPECT_EQ(r.metrics.worst[0].expected, 1.0);
  EXPECT_EQ(r.metrics.worst[0].actual, 1.0 + 5.0 / 128);
  EXPECT_EQ(r.metrics.worst[1].index, (std::vector<int64_t>{0, 2, 0}));
  EXPECT_EQ(r.metrics.worst[1].abs_err, 3.0 * 16 / 128);
  EXPECT_EQ(r.metrics.worst[2].index, (std::vector<int64_t>{0, 1, 2}));
  EXPECT_EQ(r.metrics.worst[3].index, (std::vector<int64_t>{1, 0, 0}));
  EXPECT_EQ(r.metrics.worst[3].ulp, 1);
  EXPECT_EQ(r.metrics.max_ulp, 5);
  EXPECT_EQ(r.metrics.ulp_hist[1] + r.metrics.ulp_hist[3] + r.metrics.ulp_hist[4], 4);
  EXPECT_EQ(r.metrics.ulp_hist[3], 2);
  EXPECT_EQ(r.metrics.ulp_hist[4], 1);
  EXPECT_EQ(r.metrics.worst_row, 5);  // [1, 2] flattened
  EXPECT_EQ(r.metrics.worst_row_max_ulp, 5);
  EXPECT_NE(r.message.find("y[1, 2, 3]: expected 1 [0x3f80], got 1.0390625 [0x3f85] (5 ulp, allowed 2); 3 of 24 elements exceed 2 ulp (12.5%)"),
            std::string::npos)
      << r.message;
}

TEST(Metrics, WorstListIsBoundedToTheTenLargest) {
  Tensor e(DType::i32, {100});
  Tensor a(DType::i32, {100});
  for (int i = 0; i < 100; ++i) at<int32_t>(a, i) = i % 20;  // diffs 0..19, five times each
  CheckResult r = kcs::compare_tensor("q", e, a, Contract::Exact());
  ASSERT_EQ(r.metrics.worst.size(), 10u);
  EXPECT_EQ(r.metrics.worst[0].ulp, 19);
  EXPECT_EQ(r.metrics.worst[0].index, (std::vector<int64_t>{19}));  // ties keep the earlier index
  EXPECT_EQ(r.metrics.worst[1].index, (std::vector<int64_t>{39}));
  EXPECT_EQ(r.metrics.worst[4].index, (std::vector<int64_t>{99}));
  EXPECT_EQ(r.metrics.worst[5].ulp, 18);
  EXPECT_EQ(r.metrics.worst[9].ulp, 18);
  EXPECT_EQ(r.metrics.worst[9].index, (std::vector<int64_t>{98}));
  EXPECT_EQ(r.metrics.mismatches, 95);
  EXPECT_EQ(r.metrics.max_ulp, 19);
  EXPECT_EQ(r.metrics.ulp_hist[6], 15);  // 17, 18, 19 five times each
}

TEST(Metrics, WorstRowIsNotHiddenByGlobalMetrics) {
  Tensor e(DType::bf16, {4, 8});
  for (int64_t i = 0; i < e.numel(); ++i) at<uint16_t>(e, i) = 0x3F80;
  Tensor a = e;
  at<uint16_t>(a, 0 * 8 + 1) += 1;
  at<uint16_t>(a, 2 * 8 + 7) += 3;
  at<uint16_t>(a, 3 * 8 + 0) += 2;
  CheckResult r = kcs::compare_tensor("y", e, a, Contract::MaxUlp(4));
  EXPECT_TRUE(r.passed);
  EXPECT_EQ(r.metrics.worst_row, 2);
  EXPECT_EQ(r.metrics.worst_row_max_ulp, 3);
  at<uint16_t>(a, 1 * 8 + 4) = 0x7FC0;  // NaN outranks every distance
  CheckResult n = kcs::compare_tensor("y", e, a, Contract::MaxUlp(4));
  EXPECT_FALSE(n.passed);
  EXPECT_EQ(n.metrics.worst_row, 1);
  EXPECT_EQ(n.metrics.worst_row_max_ulp, -1);
  CheckResult none = kcs::compare_tensor("y", e, e, Contract::MaxUlp(4));
  EXPECT_EQ(none.metrics.worst_row, -1);
}

TEST(Metrics, CosineAndSnrOnAKnownVector) {
  Tensor e = f32({4}, {1, 2, 3, 4});
  Tensor a = f32({4}, {1, 2, 3, 5});
  CheckResult r = kcs::compare_tensor("y", e, a, Contract::AbsRel(0, 0, 1));
  EXPECT_NEAR(r.metrics.cosine, 34.0 / std::sqrt(30.0 * 39.0), 1e-15);
  EXPECT_NEAR(r.metrics.snr_db, 10 * std::log10(30.0), 1e-12);  // noise energy 1
  EXPECT_EQ(r.metrics.max_abs, 1.0);
  EXPECT_DOUBLE_EQ(r.metrics.max_rel, 0.25);

  CheckResult same = kcs::compare_tensor("y", e, e, Contract::Exact());
  EXPECT_EQ(same.metrics.cosine, 1.0);
  EXPECT_EQ(same.metrics.snr_db, kInf);

  Tensor neg = f32({4}, {-1, -2, -3, -4});
  CheckResult opp = kcs::compare_tensor("y", e, neg, Contract::AbsRel(0, 0, 1));
  EXPECT_NEAR(opp.metrics.cosine, -1.0, 1e-15);
  EXPECT_NEAR(opp.metrics.snr_db, 10 * std::log10(30.0 / 120.0), 1e-12);

  Tensor z = f32({4}, {0, 0, 0, 0});
  EXPECT_EQ(kcs::compare_tensor("y", z, z, Contract::Exact()).metrics.cosine, 1.0);
  EXPECT_EQ(kcs::compare_tensor("y", e, z, Contract::AbsRel(0, 0, 1)).metrics.cosine, 0.0);

  // Non-finite pairs are left out of cosine/SNR.
  Tensor ei = f32({5}, {1, 2, 3, 4, std::numeric_limits<float>::infinity()});
  Tensor ai = f32({5}, {1, 2, 3, 5, 7});
  CheckResult inf = kcs::compare_tensor("y", ei, ai, Contract::AbsRel(0, 0, 1));
  EXPECT_NEAR(inf.metrics.snr_db, 10 * std::log10(30.0), 1e-12);
}

TEST(Metrics, EmptyTensorPasses) {
  Tensor e(DType::fp32, {0, 8});
  CheckResult r = kcs::compare_tensor("y", e, e, Contract::Exact());
  EXPECT_TRUE(r.passed);
  EXPECT_EQ(r.metrics.numel, 0);
  EXPECT_EQ(r.metrics.cosine, 1.0);
}

// ---- row mask --------------------------------------------------------------------------------

TEST(RowMask, OnlySelectedRowsAreCompared) {
  Tensor e(DType::i8, {2, 3, 4});  // 6 rows of 4
  Tensor a = e;
  at<int8_t>(a, 1 * 4 + 2) = 9;  // row 1
  std::vector<uint8_t> mask = {1, 0, 1, 1, 0, 1};
  CheckResult ok = kcs::compare_tensor("q", e, a, Contract::Exact(), &mask);
  EXPECT_TRUE(ok.passed) << ok.message;
  EXPECT_EQ(ok.metrics.numel, 16);
  mask[1] = 7;  // any nonzero byte selects
  CheckResult bad = kcs::compare_tensor("q", e, a, Contract::Exact(), &mask);
  EXPECT_FALSE(bad.passed);
  EXPECT_EQ(bad.metrics.numel, 20);
  EXPECT_EQ(bad.metrics.worst_row, 1);
  EXPECT_NE(bad.message.find("q[0, 1, 2]: expected 0, got 9"), std::string::npos) << bad.message;

  std::vector<uint8_t> short_mask = {1, 1};
  CheckResult size = kcs::compare_tensor("q", e, a, Contract::Exact(), &short_mask);
  EXPECT_FALSE(size.passed);
  EXPECT_EQ(size.message, "q: row mask has 2 entries for 6 rows of shape [2, 3, 4]");
}

// ---- untouched -------------------------------------------------------------------------------

TEST(Untouched, CatchesAChangedByteAndIgnoresTouchedRows) {
  Tensor before(DType::bf16, {4, 8});
  for (int64_t i = 0; i < before.numel(); ++i) at<uint16_t>(before, i) = static_cast<uint16_t>(0x3F80 + i);
  Tensor after = before;
  const std::vector<uint8_t> touched = {0, 1, 0, 1};
  for (int64_t j = 0; j < 8; ++j) at<uint16_t>(after, 1 * 8 + j) = 0x4000;  // the call writes rows 1, 3
  for (int64_t j = 0; j < 8; ++j) at<uint16_t>(after, 3 * 8 + j) = 0xC000;
  CheckResult ok = kcs::check_untouched("kv_cache.untouched", before, after, touched);
  EXPECT_TRUE(ok.passed) << ok.message;
  EXPECT_EQ(ok.name, "kv_cache.untouched");
  EXPECT_EQ(ok.contract, "untouched");
  EXPECT_EQ(ok.metrics.numel, 16);
  EXPECT_EQ(ok.margin, 0);

  // One changed byte (the low byte of element [2, 5]), then a later one in row 0.
  reinterpret_cast<uint8_t*>(after.raw())[(2 * 8 + 5) * 2] ^= 0x10;
  at<uint16_t>(after, 7) ^= 0x8000;
  CheckResult bad = kcs::check_untouched("kv_cache.untouched", before, after, touched);
  EXPECT_FALSE(bad.passed);
  EXPECT_EQ(bad.margin, kInf);
  EXPECT_EQ(bad.metrics.mismatches, 2);
  ASSERT_EQ(bad.metrics.worst.size(), 2u);
  EXPECT_EQ(bad.metrics.worst[0].index, (std::vector<int64_t>{0, 7}));  // first in index order
  EXPECT_EQ(bad.metrics.worst[1].index, (std::vector<int64_t>{2, 5}));
  EXPECT_EQ(bad.metrics.worst[1].ulp, 16);
  EXPECT_NE(bad.message.find("kv_cache.untouched[0, 7]: expected "), std::string::npos) << bad.message;
  EXPECT_NE(bad.message.find("in untouched row 0; 2 of 16 untouched elements changed"), std::string::npos)
      << bad.message;
}

TEST(Untouched, NanPayloadChangeIsAChange) {
  Tensor before = bf16({2, 2}, {0x7FC0, 0, 0, 0});
  Tensor after = bf16({2, 2}, {0x7FC1, 0, 0, 0});
  CheckResult r = kcs::check_untouched("c", before, after, {0, 1});
  EXPECT_FALSE(r.passed);
  ASSERT_EQ(r.metrics.worst.size(), 1u);
  EXPECT_EQ(r.metrics.worst[0].ulp, 0);
  EXPECT_TRUE(kcs::check_untouched("c", before, after, {1, 0}).passed);
  CheckResult size = kcs::check_untouched("c", before, after, {1, 0, 0});
  EXPECT_FALSE(size.passed);
  EXPECT_NE(size.message.find("touched-row mask has 3 entries for 2 rows"), std::string::npos) << size.message;
}

// ---- packed formats --------------------------------------------------------------------------

TEST(E2m1, NibbleAddressing) {
  // [2, 4] bytes = [2, 8] logical E2M1 elements.
  Tensor e(DType::e2m1x2, {2, 4});
  for (int64_t i = 0; i < e.numel(); ++i) at<uint8_t>(e, i) = kcs::pack_e2m1x2(0x2, 0x5);  // 1.0, 3.0
  Tensor a = e;
  at<uint8_t>(a, 1 * 4 + 3) = kcs::pack_e2m1x2(0x2, 0x6);  // odd element of byte 3, row 1
  CheckResult hi = kcs::compare_tensor("x_fp4", e, a, Contract::Exact());
  EXPECT_FALSE(hi.passed);
  EXPECT_EQ(hi.metrics.numel, 16);
  ASSERT_EQ(hi.metrics.worst.size(), 1u);
  EXPECT_EQ(hi.metrics.worst[0].index, (std::vector<int64_t>{1, 7}));
  EXPECT_EQ(hi.metrics.worst[0].expected, 3.0);
  EXPECT_EQ(hi.metrics.worst[0].actual, 4.0);
  EXPECT_EQ(hi.message, "x_fp4[1, 7]: expected 3 [0x5], got 4 [0x6] (1 ulp); 1 of 16 elements differ (6.25%), allowed 0");

  Tensor b = e;
  at<uint8_t>(b, 0 * 4 + 1) = kcs::pack_e2m1x2(0x5, 0x2);  // both nibbles of byte 1 swapped
  CheckResult sw = kcs::compare_tensor("x_fp4", e, b, Contract::Exact());
  ASSERT_EQ(sw.metrics.worst.size(), 2u);
  EXPECT_EQ(sw.metrics.worst[0].index, (std::vector<int64_t>{0, 2}));
  EXPECT_EQ(sw.metrics.worst[1].index, (std::vector<int64_t>{0, 3}));
  EXPECT_EQ(sw.metrics.worst_row, 0);

  std::vector<uint8_t> mask = {1, 0};
  EXPECT_TRUE(kcs::compare_tensor("x_fp4", e, a, Contract::Exact(), &mask).passed);
}

TEST(Ue4m3, ByteAddressing) {
  Tensor e = make<int32_t>(DType::ue4m3x4, {2, 2}, {0x38383838, 0x38383838, 0x38383838, 0x38383838});
  Tensor a = e;
  at<int32_t>(a, 3) = 0x38393838;  // byte 2 of word [1, 1] -> logical [1, 6]
  CheckResult r = kcs::compare_tensor("x_sf", e, a, Contract::Exact());
  EXPECT_FALSE(r.passed);
  ASSERT_EQ(r.metrics.worst.size(), 1u);
  EXPECT_EQ(r.metrics.worst[0].index, (std::vector<int64_t>{1, 6}));
  EXPECT_EQ(r.metrics.worst[0].actual, 1.125);
  EXPECT_NE(r.message.find("x_sf[1, 6]: expected 1 [0x38], got 1.125 [0x39] (1 ulp)"), std::string::npos)
      << r.message;
}

// ---- bad pairs and contracts -----------------------------------------------------------------

TEST(BadPairs, DtypeShapeAndContractMessages) {
  Tensor e(DType::bf16, {2, 3});
  CheckResult dt = kcs::compare_tensor("y", e, Tensor(DType::fp32, {2, 3}), Contract::Exact());
  EXPECT_FALSE(dt.passed);
  EXPECT_EQ(dt.margin, kInf);
  EXPECT_EQ(dt.message, "y: dtype mismatch: expected bfloat16, got float32");
  CheckResult sh = kcs::compare_tensor("y", e, Tensor(DType::bf16, {3, 2}), Contract::Exact());
  EXPECT_FALSE(sh.passed);
  EXPECT_EQ(sh.message, "y: shape mismatch: expected [2, 3], got [3, 2]");
  CheckResult un = kcs::check_untouched("c", e, Tensor(DType::bf16, {2, 4}), {0, 0});
  EXPECT_FALSE(un.passed);
  EXPECT_EQ(un.message, "c: shape mismatch: expected [2, 3], got [2, 4]");
  CheckResult none = kcs::compare_tensor("y", e, e, Contract{});
  EXPECT_FALSE(none.passed);
  EXPECT_EQ(none.message, "y: contract none cannot be used for an output");
  CheckResult ut = kcs::compare_tensor("y", e, e, Contract::Untouched());
  EXPECT_FALSE(ut.passed);
  EXPECT_EQ(ut.message, "y: contract untouched cannot be used for an output");
  EXPECT_TRUE(kcs::compare_tensor("y", e, e, Contract::Exact()).passed);
}

// ---- scale -----------------------------------------------------------------------------------

TEST(Scale, MillionsOfElementsWithSparseDifferences) {
  const int64_t rows = 4096, cols = 1024;  // 4M bf16 elements
  Tensor e(DType::bf16, {rows, cols});
  uint16_t* pe = e.data<uint16_t>();
  for (int64_t i = 0; i < e.numel(); ++i) pe[i] = static_cast<uint16_t>(0x3C00 + (i * 2654435761u >> 20) % 0x800);
  Tensor a = e;
  uint16_t* pa = a.data<uint16_t>();
  // 1-ulp differences of alternating direction (what reordering noise looks like: one-sided
  // differences would fail the rounding-bias check, which is not what this test is about).
  for (int64_t i = 0; i < a.numel(); i += 997) pa[i] = static_cast<uint16_t>(pa[i] + ((i / 997) % 2 ? 1 : -1));
  pa[1234 * cols + 77] = static_cast<uint16_t>(pe[1234 * cols + 77] + 3);
  const auto t0 = std::chrono::steady_clock::now();
  CheckResult r = kcs::compare_tensor("big", e, a, Contract::AbsRel(1e-4, 1.0 / 128, 0.005));
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  std::printf("compare of %lld bf16 elements: %.1f ms\n", static_cast<long long>(e.numel()), ms);
  EXPECT_TRUE(r.passed) << r.message;
  EXPECT_EQ(r.metrics.numel, rows * cols);
  EXPECT_EQ(r.metrics.max_ulp, 3);
  EXPECT_EQ(r.metrics.worst_row, 1234);
  EXPECT_EQ(r.metrics.worst[0].index, (std::vector<int64_t>{1234, 77}));
  EXPECT_FALSE(kcs::compare_tensor("big", e, a, Contract::MaxUlp(2)).passed);
}

}  // namespace

namespace kcs {
namespace {

Tensor f64(Shape shape, const std::vector<double>& v) {
  Tensor t(DType::fp64, std::move(shape));
  for (size_t i = 0; i < v.size(); ++i) t.data<double>()[i] = v[i];
  return t;
}

// Spec §10.4: d_ulp <= 1, or |y - pre| <= 1/2 ulp(pre) + 2K 2^-24 A.
TEST(UlpOrBudget, OneUlpOrWithinTheAbsDotBudget) {
  const Contract c = Contract::UlpOrBudget(1, 2, "K");
  // bf16 1.0 = 0x3F80; 0x3F82 is 2 ulp above (1.015625).
  const Tensor e = bf16({3}, {0x3F80, 0x3F80, 0x3F80});
  const Tensor a = bf16({3}, {0x3F81, 0x3F82, 0x3F80});
  const Tensor pre = f64({3}, {1.0, 1.0, 1.0});
  // K = 64: 2K 2^-24 = 2^-17; budget needed for 0.015625 - 1/2 ulp(1) = 0.01171875 is A >= 1536.
  const Tensor enough = f64({3}, {0, 1536, 0});
  const Tensor short_of = f64({3}, {0, 1535, 0});
  CompareContext ctx{&pre, &enough, 64};
  CheckResult r = compare_tensor("y", e, a, c, nullptr, &ctx);
  EXPECT_TRUE(r.passed) << r.message;
  EXPECT_LE(r.margin, 1.0);
  ctx.budget = &short_of;
  r = compare_tensor("y", e, a, c, nullptr, &ctx);
  EXPECT_FALSE(r.passed);
  EXPECT_NE(r.message.find("y[1]"), std::string::npos) << r.message;
  EXPECT_GT(r.margin, 1.0);
}

TEST(UlpOrBudget, NeedsTheBudgetAndFailsOnNaN) {
  const Contract c = Contract::UlpOrBudget(1, 2, "K");
  const Tensor e = bf16({1}, {0x3F80});
  const Tensor nan = bf16({1}, {0x7FC0});
  EXPECT_FALSE(compare_tensor("y", e, e, c).passed);  // no budget: cannot be judged
  const Tensor huge = f64({1}, {1e30});
  CompareContext ctx{nullptr, &huge, 1};
  EXPECT_TRUE(compare_tensor("y", e, e, c, nullptr, &ctx).passed);
  EXPECT_FALSE(compare_tensor("y", e, nan, c, nullptr, &ctx).passed);  // no budget excuses a NaN
}

TEST(FormatUlp, SpacingPerFormat) {
  EXPECT_EQ(format_ulp(DType::bf16, 1.0), 0x1.0p-7);
  EXPECT_EQ(format_ulp(DType::fp16, 1.0), 0x1.0p-10);
  EXPECT_EQ(format_ulp(DType::fp32, -3.0), 0x1.0p-22);
  EXPECT_EQ(format_ulp(DType::fp16, 1e-9), 0x1.0p-24);  // subnormal spacing
  EXPECT_EQ(format_ulp(DType::bf16, 0.0), 0x1.0p-133);
}

}  // namespace
}  // namespace kcs

namespace kcs {
namespace {

TEST(Exact, PackedCodesCompareBitwiseEvenWhenBothDecodeToNaN) {
  Tensor e(DType::ue4m3x4, {1});
  Tensor a(DType::ue4m3x4, {1});
  e.data<int32_t>()[0] = 0x0000007F;
  a.data<int32_t>()[0] = 0x000000FF;  // same NaN value, but a sign bit in an unsigned scale byte
  EXPECT_FALSE(compare_tensor("x_sf", e, a, Contract::Exact()).passed);
  EXPECT_TRUE(compare_tensor("x_sf", e, e, Contract::Exact()).passed);
}

}  // namespace
}  // namespace kcs

// ---- topk_set (spec §10.5 K3 topk_idxs) --------------------------------------------------------

namespace kcs {
namespace {

Tensor idx(Shape shape, const std::vector<int32_t>& v) {
  Tensor x(DType::i32, std::move(shape));
  std::memcpy(x.raw(), v.data(), v.size() * sizeof(int32_t));
  return x;
}
Tensor keys(Shape shape, const std::vector<double>& v) {
  Tensor x(DType::fp64, std::move(shape));
  std::memcpy(x.raw(), v.data(), v.size() * sizeof(double));
  return x;
}

// One row of 6 index slots over index values 0..7; values 0 and 1 are not valid (an offset of 2),
// value 7 is beyond the visible length. Keys of values 2..6: 9, 5, 5, 1, 4.95; k = 3.
struct TopkRow {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  Tensor key = keys({1, 8}, {nan, nan, 9, 5, 5, 1, 4.95, nan});
  Tensor tau = keys({1, 8}, {0, 0, 0.1, 0.1, 0.1, 0.1, 0.1, 0});
  Tensor expected = idx({1, 6}, {2, 3, 4, -1, -1, -1});
  CompareContext ctx{&key, &tau, 1};
  CheckResult run(const std::vector<int32_t>& a) {
    return compare_tensor("topk_idxs", expected, idx({1, 6}, a), Contract::TopkSet(), nullptr, &ctx);
  }
};

TEST(TopkSet, SameSetInAnyOrderPasses) {
  TopkRow t;
  CheckResult r = t.run({2, 3, 4, -1, -1, -1});
  EXPECT_TRUE(r.passed) << r.message;
  EXPECT_EQ(r.margin, 0);
  r = t.run({4, 2, 3, -1, -1, -1});  // order is never compared
  EXPECT_TRUE(r.passed) << r.message;
  EXPECT_EQ(r.metrics.mismatches, 3);
}

TEST(TopkSet, SwapAcrossTheBoundaryPassesOnlyForTiesOrNearTies) {
  TopkRow t;
  // Value 4 (key 5) is the k-th best; value 3 ties with it: swapping which one is chosen is fine.
  EXPECT_TRUE(t.run({2, 4, 6, -1, -1, -1}).passed);  // 4.95 is within tau 0.1 of 5
  CheckResult r = t.run({2, 3, 5, -1, -1, -1});      // key 1 is 4 below the k-th best
  EXPECT_FALSE(r.passed);
  EXPECT_GT(r.margin, 1);
  EXPECT_NE(r.message.find("index 5"), std::string::npos) << r.message;
  ASSERT_FALSE(r.metrics.worst.empty());
  EXPECT_EQ(r.metrics.worst[0].index, (std::vector<int64_t>{0, 2}));
}

TEST(TopkSet, TiedKeysSwappedPassWithZeroTolerance) {
  TopkRow t;
  for (int v = 0; v < 8; ++v) t.tau.data<double>()[v] = 0;
  t.expected = idx({1, 6}, {2, 3, -1, -1, -1, -1});  // k = 2: value 3 chosen over its tie 4
  EXPECT_TRUE(t.run({2, 4, -1, -1, -1, -1}).passed);
  EXPECT_TRUE(t.run({4, 2, -1, -1, -1, -1}).passed);
  EXPECT_FALSE(t.run({2, 6, -1, -1, -1, -1}).passed);  // 4.95 < 5 with no tolerance
}

TEST(TopkSet, StructuralErrorsFailWithInfiniteMargin) {
  TopkRow t;
  const std::vector<std::vector<int32_t>> bad = {
      {2, 3, -1, -1, -1, -1},  // too few
      {2, 3, 4, 6, -1, -1},    // tail not -1
      {2, 3, 3, -1, -1, -1},   // duplicate
      {2, 3, 1, -1, -1, -1},   // below the offset (NaN key)
      {2, 3, 7, -1, -1, -1},   // beyond the visible length
      {2, 3, 8, -1, -1, -1},   // beyond the key table
  };
  for (const auto& a : bad) {
    CheckResult r = t.run(a);
    EXPECT_FALSE(r.passed) << a[2] << " " << a[3];
    EXPECT_EQ(r.margin, kInf);
  }
}

TEST(TopkSet, SumConditionCatchesADroppedLeader) {
  // Each chosen key is within tau of the k-th best, but the best (9) was dropped for a near-tie:
  // the chosen sum falls short by 4.05 > sum of tau.
  TopkRow t;
  t.expected = idx({1, 6}, {2, 3, -1, -1, -1, -1});  // k = 2, k-th best 5
  CheckResult r = t.run({4, 6, -1, -1, -1, -1});
  EXPECT_FALSE(r.passed);
  EXPECT_NE(r.message.find("sum of the chosen keys"), std::string::npos) << r.message;
  for (int v = 0; v < 8; ++v) t.tau.data<double>()[v] = 3;  // with a generous tau it passes
  EXPECT_TRUE(t.run({4, 6, -1, -1, -1, -1}).passed);
}

TEST(TopkSet, EmptyRowsAndMissingKeys) {
  TopkRow t;
  t.expected = idx({1, 6}, {-1, -1, -1, -1, -1, -1});  // cache_len 0: everything -1
  EXPECT_TRUE(t.run({-1, -1, -1, -1, -1, -1}).passed);
  EXPECT_FALSE(t.run({2, -1, -1, -1, -1, -1}).passed);
  const Tensor e = idx({1, 2}, {0, -1});
  EXPECT_FALSE(compare_tensor("topk_idxs", e, e, Contract::TopkSet()).passed);  // no keys
  EXPECT_EQ(Contract::TopkSet().str(), "topk_set(key >= key_kth - tau, sum condition)");
}

}  // namespace
}  // namespace kcs

// ---- rounding bias (issue 19) --------------------------------------------------------------------

namespace bias {

// n BF16 values of both signs, 1 ulp apart from the expected ones: `toward` of them toward zero.
std::pair<Tensor, Tensor> pair_with(int n, int toward, uint64_t seed) {
  std::vector<uint16_t> e(static_cast<size_t>(n)), a(e.size());
  uint64_t s = seed;
  for (int i = 0; i < n; ++i) {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    const double v = (static_cast<double>(s >> 11) * 0x1.0p-53 + 0.5) * ((s & 1) ? -1 : 1);
    e[static_cast<size_t>(i)] = kcs::bf16_from_double(v);
    // Magnitude one code down (toward zero) or one code up (away).
    a[static_cast<size_t>(i)] = static_cast<uint16_t>(e[static_cast<size_t>(i)] + (i < toward ? -1 : 1));
  }
  return {bf16({n}, e), bf16({n}, a)};
}

TEST(RoundingBias, TruncationFailsAndNamesIt) {
  auto [e, a] = pair_with(200, 200, 1);
  const CheckResult r = kcs::compare_tensor("y", e, a, Contract::MaxUlp(1));
  EXPECT_FALSE(r.passed);
  EXPECT_GT(r.margin, 1);
  EXPECT_NE(r.message.find("rounding bias: 200 of 200"), std::string::npos) << r.message;
  EXPECT_NE(r.diagnosis.find("1 ULP toward zero: truncation"), std::string::npos) << r.diagnosis;
  EXPECT_EQ(r.metrics.toward_zero, 200);
}

TEST(RoundingBias, SymmetricDifferencesPassWithTheirMargin) {
  // Half toward zero, half away: what correct rounding in another order looks like.
  auto [e, a] = pair_with(200, 100, 2);
  const CheckResult r = kcs::compare_tensor("y", e, a, Contract::MaxUlp(1));
  EXPECT_TRUE(r.passed) << r.message;
  EXPECT_EQ(r.margin, 1.0);  // the max_ulp margin, unchanged by the bias check
  EXPECT_TRUE(r.diagnosis.empty());
}

TEST(RoundingBias, BoundIsSixSigma) {
  // m = 400: |2T - m| <= 6 sqrt(400) = 120 passes, i.e. T <= 260.
  auto [e1, a1] = pair_with(400, 260, 3);
  EXPECT_TRUE(kcs::compare_tensor("y", e1, a1, Contract::MaxUlp(1)).passed);
  auto [e2, a2] = pair_with(400, 261, 3);
  EXPECT_FALSE(kcs::compare_tensor("y", e2, a2, Contract::MaxUlp(1)).passed);
}

TEST(RoundingBias, FewDifferencesAreNeverJudged) {
  // 36 differences all toward zero: 36 <= 6 sqrt(36) = 36, below what the test can tell apart.
  auto [e, a] = pair_with(36, 36, 4);
  EXPECT_TRUE(kcs::compare_tensor("y", e, a, Contract::MaxUlp(1)).passed);
}

TEST(RoundingBias, AbsRelOnlyOnSixteenBitOutputs) {
  auto [e, a] = pair_with(200, 200, 5);
  EXPECT_FALSE(kcs::compare_tensor("y", e, a, Contract::AbsRel(1, 0, 0)).passed);
  // The same values as binary32: an abs_rel fp32 output may come from another formula.
  std::vector<float> ef(200), af(200);
  for (int i = 0; i < 200; ++i) {
    ef[static_cast<size_t>(i)] = static_cast<float>(kcs::element_value(e, i));
    af[static_cast<size_t>(i)] = static_cast<float>(kcs::element_value(a, i));
  }
  EXPECT_TRUE(kcs::compare_tensor("y", make(DType::fp32, {200}, ef), make(DType::fp32, {200}, af),
                                  Contract::AbsRel(1, 0, 0))
                  .passed);
}

TEST(Diagnosis, TiesNamedFromThePreRoundingValues) {
  // Codes 0.5 -> 1 and 2.5 -> 3 (ties away) against 0 and 2 (ties to even).
  Tensor e = make<int8_t>(DType::i8, {4}, {0, 2, 5, 7});
  Tensor a = make<int8_t>(DType::i8, {4}, {1, 3, 5, 7});
  Tensor pre = make<float>(DType::fp32, {4}, {0.5f, 2.5f, 5.2f, 6.9f});
  kcs::CompareContext ctx;
  ctx.prerounding = &pre;
  const CheckResult r = kcs::compare_tensor("codes", e, a, Contract::Exact(), nullptr, &ctx);
  EXPECT_FALSE(r.passed);
  EXPECT_NE(r.diagnosis.find("all 2 differing codes sit on exact ties"), std::string::npos) << r.diagnosis;
  EXPECT_NE(r.message.find("diagnosis:"), std::string::npos);
  EXPECT_EQ(r.metrics.worst[0].prerounding, 0.5);
}

TEST(Diagnosis, LastBlockOnly) {
  Tensor e = make<int8_t>(DType::i8, {3, 2}, {1, 2, 3, 4, 5, 6});
  Tensor a = make<int8_t>(DType::i8, {3, 2}, {1, 2, 3, 4, 0, 0});
  const CheckResult r = kcs::compare_tensor("y", e, a, Contract::Exact());
  EXPECT_NE(r.diagnosis.find("only the last block"), std::string::npos) << r.diagnosis;
}

TEST(Diagnosis, AttributeThatSeparatesFailingCases) {
  using A = std::map<std::string, std::string>;
  const std::string d = kcs::diagnose_attribute({{A{{"eps", "1e-6"}, {"n", "4"}}, false},
                                                 {A{{"eps", "1e-5"}, {"n", "4"}}, true},
                                                 {A{{"eps", "1e-5"}, {"n", "8"}}, true}});
  EXPECT_NE(d.find("eps appears unused"), std::string::npos) << d;
  EXPECT_TRUE(kcs::diagnose_attribute({{A{{"eps", "1e-6"}}, true}, {A{{"eps", "1e-6"}}, false}}).empty());
  // The failing case has the common value; the passing minority value says nothing.
  EXPECT_TRUE(kcs::diagnose_attribute({{A{{"eps", "1e-6"}}, true},
                                       {A{{"eps", "1e-6"}}, false},
                                       {A{{"eps", "1e-6"}}, false},
                                       {A{{"eps", "1e-5"}}, false}})
                  .empty());
}

}  // namespace bias
