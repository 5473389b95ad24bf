// The canary framework itself (conformance/canaries): a canary that is not caught, caught by the
// wrong check, or broken makes selftest fail, and so does a check without a canary.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <set>

#include "conformance/canaries/canary.h"
#include "conformance/canaries/faults.h"

namespace kcs {
namespace {

using ::testing::HasSubstr;

Canary make(const std::string& name, std::vector<std::string> caught_by, FaultFn fn) {
  return Canary{name, "test fault", "q8.random.rows=4.n=17", "", std::move(caught_by), std::move(fn)};
}

std::string selftest_output(const std::vector<std::pair<std::string, Canary>>& cs, const std::vector<std::string>& cover,
                            int* rc) {
  std::FILE* f = std::tmpfile();
  *rc = selftest_canaries(cs, cover, f);
  std::rewind(f);
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  std::fclose(f);
  return out;
}

TEST(Canary, FaultThatChangesNothingIsMissedAndFailsSelftest) {
  const Canary noop = make("noop", {"codes"}, [](const FaultCall& fc) { return fc.run_reference(); });
  const CanaryResult r = run_canary("q8", noop);
  EXPECT_FALSE(r.caught);
  EXPECT_THAT(r.problem, HasSubstr("MISSED"));
  int rc = 0;
  const std::string out = selftest_output({{"q8", noop}}, {}, &rc);
  EXPECT_EQ(rc, 1);
  EXPECT_THAT(out, HasSubstr("FAIL"));
}

TEST(Canary, CaughtByAnotherCheckThanExpectedFails) {
  // A scale fault expected to be caught by codes: scale catches it, codes does not.
  const Canary c = make("wrong_check", {"codes"}, [](const FaultCall& fc) {
    Status s = fc.run_reference();
    canary::step_units(fc.out("scale"), 0, 1);
    return s;
  });
  const CanaryResult r = run_canary("q8", c);
  EXPECT_FALSE(r.caught);
  EXPECT_THAT(r.problem, HasSubstr("not by codes"));
}

TEST(Canary, BrokenCanaryIsNotCounted) {
  const CanaryResult err = run_canary("q8", make("errs", {"codes"}, [](const FaultCall&) { return Status::Fail("nope"); }));
  EXPECT_FALSE(err.caught);
  EXPECT_THAT(err.problem, HasSubstr("errored"));
  Canary nocase = make("nocase", {"codes"}, [](const FaultCall& fc) { return fc.run_reference(); });
  nocase.case_glob = "q8.no_such_case*";
  EXPECT_THAT(run_canary("q8", nocase).problem, HasSubstr("no ci-tier case"));
  EXPECT_THAT(run_canary("q8", make("badcheck", {"codez"}, [](const FaultCall& fc) { return fc.run_reference(); })).problem,
              HasSubstr("does not have"));
}

TEST(Canary, UncoveredCheckFailsSelftest) {
  // One caught canary for codes only: scale and the invariants stay uncovered.
  const Canary c = make("code", {"codes"}, [](const FaultCall& fc) {
    Status s = fc.run_reference();
    canary::step_units(fc.out("codes"), 1, 2);
    return s;
  });
  int rc = 0;
  const std::string out = selftest_output({{"q8", c}}, {"q8"}, &rc);
  EXPECT_EQ(rc, 1);
  EXPECT_THAT(out, HasSubstr("scale"));
  EXPECT_THAT(out, HasSubstr("UNCOVERED"));
  EXPECT_THAT(out, HasSubstr("1 canaries: 1 caught, 0 not; 3 checks uncovered"));
}

TEST(Canary, RegistryIsWellFormed) {
  std::set<std::string> kernels;
  for (const auto& reg : canary_registry()) {
    SCOPED_TRACE(reg.kernel);
    ASSERT_NE(find_kernel(reg.kernel), nullptr) << "canaries for an unknown kernel";
    EXPECT_TRUE(kernels.insert(reg.kernel).second) << "registered twice";
    const auto names = check_names(kernel_or_throw(reg.kernel));
    std::set<std::string> seen;
    for (const auto& c : reg.make()) {
      EXPECT_TRUE(seen.insert(c.name).second) << "duplicate canary " << c.name;
      EXPECT_FALSE(c.caught_by.empty()) << c.name;
      EXPECT_TRUE(c.inject) << c.name;
      for (const auto& n : c.caught_by) EXPECT_THAT(names, ::testing::Contains(n)) << c.name;
    }
  }
}

TEST(Faults, CodesOffBeyondRatioIsCaught) {
  // q8 codes are exact (ratio 0): one element off by 1 is already beyond it.
  const CanaryResult r = run_canary("q8", canary::codes_off_beyond_ratio("codes", "q8.random.rows=4.n=17"));
  EXPECT_TRUE(r.caught) << r.problem;
}

TEST(Faults, StepUnitsMovesOneElementByExactlyNUnits) {
  Tensor bf(DType::bf16, {3});
  bf.data<uint16_t>()[1] = 0x3F80;  // 1.0
  canary::step_units(bf, 1, 2);
  EXPECT_EQ(bf.data<uint16_t>()[1], 0x3F82);
  EXPECT_EQ(bf.data<uint16_t>()[0], 0);
  bf.data<uint16_t>()[2] = 0x7F7F;  // max finite: steps towards zero instead of to Inf
  canary::step_units(bf, 2, 1);
  EXPECT_EQ(bf.data<uint16_t>()[2], 0x7F7E);
  Tensor i8(DType::i8, {2});
  i8.data<int8_t>()[0] = 127;
  canary::step_units(i8, 0, 2);
  EXPECT_EQ(i8.data<int8_t>()[0], 125);
  Tensor fp4(DType::e2m1x2, {1});
  static_cast<uint8_t*>(fp4.raw())[0] = 0x21;  // even element 1, odd element 2
  canary::step_units(fp4, 1, 1);
  EXPECT_EQ(static_cast<uint8_t*>(fp4.raw())[0], 0x31);
  Tensor f(DType::fp32, {1});
  canary::set_nan(f, 0);
  EXPECT_TRUE(std::isnan(f.data<float>()[0]));
  EXPECT_THROW(canary::set_nan(i8, 0), Error);
}

}  // namespace
}  // namespace kcs
