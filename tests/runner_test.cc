// Declarations, validation, tile configs, catalogs and the runner's verdicts, with a mock backend.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "conformance/runner/catalog.h"
#include "conformance/runner/results.h"
#include "conformance/runner/runner.h"
#include "conformance/runner/sweep.h"
#include "conformance/suites/suite.h"
#include "kcs/backend.h"
#include "kcs/formats.h"

namespace kcs {
namespace {

using ::testing::_;
using ::testing::HasSubstr;
using ::testing::Invoke;
using ::testing::Return;

Problem q8_problem(int64_t rows, int64_t n) {
  Problem p;
  p.dims = {{"rows", rows}, {"n", n}};
  return complete_problem(kernel_or_throw("q8"), p);
}

TensorMap q8_tensors(const Problem& p) {
  const KernelDecl& d = kernel_or_throw("q8");
  TensorMap t;
  for (const auto& td : d.tensors) t.emplace(td.name, make_tensor(d, p, td.name));
  return t;
}

TEST(Decl, RegistryKnowsQ8) {
  EXPECT_NE(find_kernel("q8"), nullptr);
  EXPECT_EQ(find_kernel("nope"), nullptr);
  EXPECT_THAT([] { kernel_or_throw("nope"); }, ::testing::Throws<Error>());
}

TEST(Decl, DimExprParsesAndEvaluates) {
  Dims d{{"K", 256}, {"H", 4}};
  EXPECT_EQ(DimExpr::parse("K/2").eval(d), 128);
  EXPECT_EQ(DimExpr::parse("H*3").eval(d), 12);
  EXPECT_EQ(DimExpr::parse("1").eval(d), 1);
  EXPECT_THROW(DimExpr::parse("K/0"), Error);
  EXPECT_THROW(DimExpr::parse("K+1"), Error);
  EXPECT_THROW(DimExpr::parse("").eval(d), Error);
  EXPECT_THROW(DimExpr::parse("K/3").eval(d), Error);  // not a multiple
}

TEST(Decl, ValidateCallNamesTheProblem) {
  const KernelDecl& d = kernel_or_throw("q8");
  Problem p = q8_problem(3, 16);
  TensorMap t = q8_tensors(p);
  EXPECT_TRUE(validate_call(d, p, t).ok);

  TensorMap wrong_dtype = t;
  wrong_dtype["x"] = Tensor(DType::fp16, {3, 16});
  EXPECT_THAT(validate_call(d, p, wrong_dtype).message, HasSubstr("'x' has dtype float16, expected bfloat16"));

  TensorMap wrong_shape = t;
  wrong_shape["codes"] = Tensor(DType::i8, {3, 15});
  EXPECT_THAT(validate_call(d, p, wrong_shape).message, HasSubstr("'codes' has shape [3, 15], expected [3, 16]"));

  TensorMap missing = t;
  missing.erase("scale");
  EXPECT_THAT(validate_call(d, p, missing).message, HasSubstr("'scale' is missing"));

  Problem bad_attr = p;
  bad_attr.attrs["round_mode"] = "nearest";
  EXPECT_THAT(validate_call(d, bad_attr, t).message, HasSubstr("round_mode = 'nearest' is not one of rint|rhaz"));

  Problem unknown_dim = p;
  unknown_dim.dims["k"] = 1;
  EXPECT_THAT(validate_call(d, unknown_dim, t).message, HasSubstr("unknown dimension 'k'"));

  Problem zero_n = q8_problem(3, 0);
  EXPECT_THAT(validate_problem(d, zero_n).message, HasSubstr("n = 0 is below its minimum 1"));
}

TEST(Decl, Q8RejectsSubnormalAmaxWithoutFloorAndWritesNothing) {
  const KernelDecl& d = kernel_or_throw("q8");
  Problem p = q8_problem(2, 4);
  p.attrs["x_dtype"] = "float32";
  TensorMap t = q8_tensors(p);
  t.at("x").data<float>()[5] = 1e-39f;  // row 1: subnormal amax
  t.at("codes").fill_bytes(0x5A);
  const Tensor before = t.at("codes");
  for (auto& b : builtin_backends()) {
    if (!b->availability().runnable) continue;
    Invocation inv{&d, &p, &t, TileConfig{}, 1};
    Status s = b->run(inv);
    EXPECT_FALSE(s.ok) << b->name();
    EXPECT_THAT(s.message, HasSubstr("x row 1 has amax")) << b->name();
    EXPECT_TRUE(t.at("codes").same_bytes(before)) << b->name() << " wrote codes on a rejected call";
  }
  p.attrs["amax_floor"] = "1e-4";
  Invocation inv{&d, &p, &t, TileConfig{}, 1};
  EXPECT_TRUE(make_reference_backend()->run(inv).ok);
}

TEST(TileConfig, ParsesAndNames) {
  EXPECT_EQ(TileConfig::parse("").name(), "default");
  EXPECT_EQ(TileConfig::parse("b=2,a=1").name(), "a=1,b=2");
  EXPECT_THROW(TileConfig::parse("a"), Error);
  EXPECT_THROW(TileConfig::parse("a=x"), Error);
  EXPECT_THROW(TileConfig::parse("a=1,a=2"), Error);
  EXPECT_EQ(TileConfig::parse("row_tile=3").get(kernel_or_throw("q8"), "row_tile"), 3);
  EXPECT_EQ(TileConfig{}.get(kernel_or_throw("q8"), "row_tile"), 16);
}

TEST(Backend, RejectsUnknownKnobAndBadThreads) {
  const KernelDecl& d = kernel_or_throw("q8");
  Problem p = q8_problem(1, 4);
  TensorMap t = q8_tensors(p);
  auto ref = make_reference_backend();
  Invocation inv{&d, &p, &t, TileConfig::parse("k_block=4"), 1};
  EXPECT_THAT(ref->run(inv).message, HasSubstr("no tile knob 'k_block'"));
  Invocation inv2{&d, &p, &t, TileConfig{}, 0};
  EXPECT_THAT(ref->run(inv2).message, HasSubstr("threads"));
}

TEST(Catalog, GlobMatch) {
  EXPECT_TRUE(glob_match("q8.*", "q8.random.n=1"));
  EXPECT_TRUE(glob_match("*ties*", "q8.ties.n=9"));
  EXPECT_FALSE(glob_match("q8.ties", "q8.ties.n=9"));
  EXPECT_TRUE(glob_match("", ""));
}

TEST(Catalog, ExpandsProductsAndNamesCases) {
  const KernelDecl& d = kernel_or_throw("q8");
  auto j = nlohmann::json::parse(R"({"kernel":"q8","tiles":["row_tile=1"],"cases":[
      {"name":"r","tier":"smoke","dims":{"rows":[1,2],"n":8},"attrs":{"round_mode":["rint","rhaz"]}}]})");
  Catalog c = parse_catalog(d, j, "test");
  ASSERT_EQ(c.cases.size(), 4u);
  EXPECT_EQ(c.cases[0].id, "q8.r.rows=1.n=8.round_mode=rint");
  EXPECT_EQ(c.cases[3].id, "q8.r.rows=2.n=8.round_mode=rhaz");
  EXPECT_EQ(select_cases(c, Tier::smoke).size(), 4u);
  EXPECT_EQ(select_cases(c, Tier::ci, "*rhaz").size(), 2u);
}

TEST(Catalog, ErrorsNameTheEntry) {
  const KernelDecl& d = kernel_or_throw("q8");
  auto bad = [&](const char* text) {
    try {
      parse_catalog(d, nlohmann::json::parse(text), "cat.json");
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_THAT(bad(R"({"kernel":"q8","cases":[{"name":"a","dims":{"rows":1,"m":2}}]})"),
              HasSubstr("cat.json: cases[0]: unknown dimension 'm'"));
  EXPECT_THAT(bad(R"({"kernel":"q8","cases":[{"name":"a","dims":{"rows":1,"n":2},"attrs":{"round_mode":"up"}}]})"),
              HasSubstr("is not one of rint|rhaz"));
  EXPECT_THAT(bad(R"({"kernel":"q8","tiles":["k_block=2"],"cases":[]})"), HasSubstr("unknown knob k_block"));
  EXPECT_THAT(bad(R"({"kernel":"q9","cases":[]})"), HasSubstr("\"kernel\": \"q8\""));
}

TEST(Catalog, ShippedCatalogLoads) {
  Catalog c = load_catalog(kernel_or_throw("q8"));
  EXPECT_GT(select_cases(c, Tier::smoke).size(), 0u);
  EXPECT_GT(select_cases(c, Tier::ci).size(), select_cases(c, Tier::smoke).size());
  EXPECT_GT(select_cases(c, Tier::nightly).size(), select_cases(c, Tier::ci).size());
}

class MockBackend : public Backend {
 public:
  MOCK_METHOD(std::string, name, (), (const, override));
  MOCK_METHOD(std::string, describe, (), (const, override));
  MOCK_METHOD(Availability, availability, (), (const, override));
  MOCK_METHOD(bool, supports, (const std::string&), (const, override));
  MOCK_METHOD(Status, execute, (const Invocation&), (override));
};

CaseSpec small_case() {
  Catalog c = load_catalog(kernel_or_throw("q8"));
  return select_cases(c, Tier::smoke, "q8.random.rows=4.n=17").at(0);
}

TEST(Runner, UnavailableBackendIsSkippedNeverPassed) {
  ::testing::NiceMock<MockBackend> m;
  ON_CALL(m, name()).WillByDefault(Return("mock"));
  EXPECT_CALL(m, availability()).WillRepeatedly(Return(Availability{false, "needs avx512_vnni"}));
  EXPECT_CALL(m, execute(_)).Times(0);
  const CaseSpec cs = small_case();
  const RunRecord r = run_case(cs, make_bundle(cs), m, TileConfig{}, 1);
  EXPECT_EQ(r.verdict, Verdict::skipped);
  EXPECT_EQ(r.reason, "needs avx512_vnni");
  EXPECT_TRUE(r.checks.empty());
}

TEST(Runner, BackendErrorBecomesAnErrorWithItsMessage) {
  ::testing::NiceMock<MockBackend> m;
  ON_CALL(m, name()).WillByDefault(Return("mock"));
  ON_CALL(m, availability()).WillByDefault(Return(Availability{}));
  ON_CALL(m, supports(_)).WillByDefault(Return(true));
  EXPECT_CALL(m, execute(_)).Times(1).WillOnce(Return(Status::Fail("device lost")));
  const CaseSpec cs = small_case();
  const RunRecord r = run_case(cs, make_bundle(cs), m, TileConfig::parse("row_tile=3"), 2);
  EXPECT_EQ(r.verdict, Verdict::error);
  EXPECT_THAT(r.reason, HasSubstr("device lost"));
  EXPECT_EQ(r.repro, kcs_exe() + " run --case " + cs.id + " --backend mock --tile row_tile=3 --threads 2");
}

TEST(Runner, OneWrongCodeFailsAndIsNamed) {
  ::testing::NiceMock<MockBackend> m;
  auto ref = make_reference_backend();
  ON_CALL(m, name()).WillByDefault(Return("mock"));
  ON_CALL(m, availability()).WillByDefault(Return(Availability{}));
  ON_CALL(m, supports(_)).WillByDefault(Return(true));
  EXPECT_CALL(m, execute(_)).WillOnce(Invoke([&](const Invocation& inv) {
    Status s = ref->run(inv);
    inv.out("codes").data<int8_t>()[2 * 17 + 5] += 1;  // row 2, element 5
    return s;
  }));
  const CaseSpec cs = small_case();
  const RunRecord r = run_case(cs, make_bundle(cs), m, TileConfig{}, 1);
  EXPECT_EQ(r.verdict, Verdict::failed);
  EXPECT_THAT(r.reason, HasSubstr("codes"));
  EXPECT_THAT(r.reason, HasSubstr("[2, 5]"));
}

TEST(Runner, UnwrittenOutputIsCaught) {
  ::testing::NiceMock<MockBackend> m;
  ON_CALL(m, name()).WillByDefault(Return("mock"));
  ON_CALL(m, availability()).WillByDefault(Return(Availability{}));
  ON_CALL(m, supports(_)).WillByDefault(Return(true));
  EXPECT_CALL(m, execute(_)).WillOnce(Return(Status::Ok()));  // writes nothing: outputs keep the poison
  const CaseSpec cs = small_case();
  const RunRecord r = run_case(cs, make_bundle(cs), m, TileConfig{}, 1);
  EXPECT_EQ(r.verdict, Verdict::failed);
}

TEST(Results, JsonCarriesRunsAndNonFiniteNumbers) {
  RunRecord r;
  r.kernel = "q8";
  r.case_id = "q8.x";
  r.backend = "b";
  r.tile = "default";
  r.verdict = Verdict::failed;
  CheckResult c;
  c.name = "codes";
  c.margin = INFINITY;
  r.checks.push_back(c);
  const auto j = results_json({r}, "ci", "kcs run");
  EXPECT_EQ(j["runs"].size(), 1u);
  EXPECT_EQ(j["results"][0]["margin"], "inf");
  EXPECT_TRUE(std::isinf(json_to_double(j["results"][0]["margin"])));
}


// ---- Harness self-tests (issue 11): what the runner calls, and what it reports. ----

using ::testing::AllOf;
using ::testing::Field;

// A mock that is available, supports everything and, unless told otherwise, runs the reference.
void delegate_to_reference(::testing::NiceMock<MockBackend>& m, Backend& ref) {
  ON_CALL(m, name()).WillByDefault(Return("mock"));
  ON_CALL(m, availability()).WillByDefault(Return(Availability{}));
  ON_CALL(m, supports(_)).WillByDefault(Return(true));
  ON_CALL(m, execute(_)).WillByDefault(Invoke([&ref](const Invocation& inv) { return ref.run(inv); }));
}

// Every kernel: the suite's sweep is exactly catalog case x built-in backend x tile config, each
// once, and run_case() calls the backend exactly once per case x tile, with that tile, that
// problem and the thread count asked for.
TEST(Runner, CallsTheBackendOncePerCaseAndTileForEveryKernel) {
  auto ref = make_reference_backend();
  for (const KernelDecl* d : all_kernels()) {
    SCOPED_TRACE(d->id);
    const Catalog& c = suite::catalog(d->id);
    const auto cases = select_cases(c, suite::env_tier());
    const auto params = suite::conformance_params(d->id);
    EXPECT_EQ(params.size(), cases.size() * builtin_backends().size() * c.tiles.size());
    std::set<std::string> seen;
    for (const auto& p : params) EXPECT_TRUE(seen.insert(p.case_id + "|" + p.backend + "|" + p.tile).second) << p.case_id;

    // The smoke cases on a mock that runs the reference: one execute per case x tile.
    for (const auto& cs : select_cases(c, Tier::smoke)) {
      const Bundle b = make_bundle(cs);
      for (const auto& tile : c.tiles) {
        ::testing::NiceMock<MockBackend> m;
        delegate_to_reference(m, *ref);
        EXPECT_CALL(m, execute(AllOf(Field(&Invocation::threads, 2), Field(&Invocation::problem, &b.problem))))
            .Times(1)
            .WillOnce(Invoke([&](const Invocation& inv) {
              EXPECT_EQ(inv.tile.name(), tile.name());
              EXPECT_EQ(inv.decl, d);
              return ref->run(inv);
            }));
        const RunRecord r = run_case(cs, b, m, tile, 2);
        EXPECT_EQ(r.verdict, Verdict::passed) << cs.id << " tile " << tile.name() << ": " << r.reason;
        EXPECT_EQ(r.tile, tile.name());
        EXPECT_EQ(r.threads, 2);
      }
    }
  }
}

TEST(Runner, UnsupportedKernelIsSkippedNeverPassed) {
  ::testing::NiceMock<MockBackend> m;
  ON_CALL(m, name()).WillByDefault(Return("mock"));
  ON_CALL(m, availability()).WillByDefault(Return(Availability{}));
  EXPECT_CALL(m, supports("q8")).WillRepeatedly(Return(false));
  EXPECT_CALL(m, execute(_)).Times(0);
  const CaseSpec cs = small_case();
  const RunRecord r = run_case(cs, make_bundle(cs), m, TileConfig{}, 1);
  EXPECT_EQ(r.verdict, Verdict::skipped);
  EXPECT_THAT(r.reason, HasSubstr("not implemented"));
  // Skipped records stay skipped in the results file, never counted as passed.
  const auto j = results_json({r}, "ci", "kcs run");
  EXPECT_EQ(j["runs"][0]["verdict"], "skipped");
}

TEST(Runner, ExceptionInABackendBecomesAnErrorWithItsMessage) {
  ::testing::NiceMock<MockBackend> m;
  auto ref = make_reference_backend();
  delegate_to_reference(m, *ref);
  EXPECT_CALL(m, execute(_)).WillOnce(Invoke([](const Invocation&) -> Status { throw std::runtime_error("kernel blew up"); }));
  const CaseSpec cs = small_case();
  const RunRecord r = run_case(cs, make_bundle(cs), m, TileConfig{}, 1);
  EXPECT_EQ(r.verdict, Verdict::error);
  EXPECT_THAT(r.reason, HasSubstr("kernel blew up"));
  EXPECT_THAT(r.reason, HasSubstr("mock"));
}

// A call that fails validation never reaches the backend's code, so nothing can be written.
TEST(Runner, InvalidCallNeverReachesExecute) {
  ::testing::NiceMock<MockBackend> m;
  auto ref = make_reference_backend();
  delegate_to_reference(m, *ref);
  EXPECT_CALL(m, execute(_)).Times(0);
  const KernelDecl& d = kernel_or_throw("q8");
  Problem p = q8_problem(3, 16);
  TensorMap t = q8_tensors(p);
  t["codes"] = Tensor(DType::i8, {3, 15});
  Invocation inv{&d, &p, &t, TileConfig{}, 1};
  EXPECT_THAT(m.run(inv).message, HasSubstr("'codes' has shape [3, 15]"));
  Invocation bad_knob{&d, &p, &t, TileConfig::parse("row_tile=-2"), 1};
  EXPECT_THAT(m.run(bad_knob).message, HasSubstr("row_tile = -2 is out of range"));
}

// A shipped bad-input case (catalog expect_error): Backend::run's validation rejects the call
// with the documented message before execute(), so nothing is written.
TEST(Runner, ExpectErrorCaseIsRejectedBeforeExecute) {
  Catalog c = load_catalog(kernel_or_throw("q8"));
  const auto bad = select_cases(c, Tier::ci, "q8.subnormal_amax_nofloor.*");
  ASSERT_FALSE(bad.empty());
  const CaseSpec& cs = bad.front();
  ASSERT_FALSE(cs.expect_error.empty());
  auto ref = make_reference_backend();
  ::testing::NiceMock<MockBackend> m;
  delegate_to_reference(m, *ref);
  EXPECT_CALL(m, execute(_)).Times(0);
  const RunRecord r = run_case(cs, make_bundle(cs), m, TileConfig{}, 1);
  EXPECT_EQ(r.verdict, Verdict::passed) << r.reason;
  ASSERT_EQ(r.checks.size(), 1u);
  EXPECT_EQ(r.checks[0].name, "rejects_input");
}

// Bad-input verdicts: accepted, rejected with another message, or rejected after writing are all
// failures; only a clean rejection with the documented text passes.
class RejectingBackend : public Backend {
 public:
  explicit RejectingBackend(std::function<Status(const Invocation&)> fn) : fn_(std::move(fn)) {}
  std::string name() const override { return "rejecting"; }
  std::string describe() const override { return ""; }
  Availability availability() const override { return {}; }
  bool supports(const std::string&) const override { return true; }
 protected:
  Status execute(const Invocation& inv) override { return fn_(inv); }

 private:
  std::function<Status(const Invocation&)> fn_;
};

TEST(Runner, ExpectErrorVerdicts) {
  // A synthetic expect_error on a valid q8 case: validation passes, so what the backend does
  // decides the verdict.
  CaseSpec cs = small_case();
  const Bundle b = make_bundle(cs);
  cs.expect_error = "row 2 is bad";
  auto verdict = [&](std::function<Status(const Invocation&)> fn) {
    RejectingBackend be(std::move(fn));
    return run_case(cs, b, be, TileConfig{}, 1);
  };
  RunRecord r = verdict([](const Invocation&) { return Status::Ok(); });
  EXPECT_EQ(r.verdict, Verdict::failed);
  EXPECT_THAT(r.reason, HasSubstr("accepted"));
  r = verdict([](const Invocation&) { return Status::Fail("something else"); });
  EXPECT_EQ(r.verdict, Verdict::failed);
  EXPECT_THAT(r.reason, HasSubstr("unexpected message: something else"));
  r = verdict([](const Invocation& inv) {
    inv.out("codes").data<int8_t>()[0] = 1;
    return Status::Fail("x row 2 is bad");
  });
  EXPECT_EQ(r.verdict, Verdict::failed);
  EXPECT_THAT(r.reason, HasSubstr("wrote to codes"));
  r = verdict([](const Invocation&) { return Status::Fail("x row 2 is bad"); });
  EXPECT_EQ(r.verdict, Verdict::passed) << r.reason;
}

// Tiers nest (smoke in ci in nightly) and a case never runs below its tier, for a synthetic
// catalog and for every shipped one.
TEST(Catalog, TierSelectsTheRightCases) {
  const KernelDecl& d = kernel_or_throw("q8");
  auto j = nlohmann::json::parse(R"({"kernel":"q8","cases":[
      {"name":"s","tier":"smoke","dims":{"rows":1,"n":8}},
      {"name":"c","tier":"ci","dims":{"rows":1,"n":8}},
      {"name":"n","tier":"nightly","dims":{"rows":1,"n":8}},
      {"name":"dflt","dims":{"rows":1,"n":8}}]})");
  Catalog c = parse_catalog(d, j, "test");
  auto ids = [&](Tier t) {
    std::vector<std::string> v;
    for (const auto& cs : select_cases(c, t)) v.push_back(cs.id);
    return v;
  };
  EXPECT_THAT(ids(Tier::smoke), ::testing::ElementsAre("q8.s.rows=1.n=8"));
  EXPECT_THAT(ids(Tier::ci), ::testing::ElementsAre("q8.s.rows=1.n=8", "q8.c.rows=1.n=8", "q8.dflt.rows=1.n=8"));
  EXPECT_EQ(ids(Tier::nightly).size(), 4u);
  for (const KernelDecl* k : all_kernels()) {
    SCOPED_TRACE(k->id);
    const Catalog shipped = load_catalog(*k);
    for (Tier t : {Tier::smoke, Tier::ci, Tier::nightly})
      for (const auto& cs : select_cases(shipped, t)) EXPECT_LE(static_cast<int>(cs.tier), static_cast<int>(t)) << cs.id;
    EXPECT_GT(select_cases(shipped, Tier::smoke).size(), 0u) << "no smoke case: the committed bundles need some";
    EXPECT_LE(select_cases(shipped, Tier::smoke).size(), select_cases(shipped, Tier::ci).size());
    EXPECT_LE(select_cases(shipped, Tier::ci).size(), select_cases(shipped, Tier::nightly).size());
  }
}

}  // namespace
}  // namespace kcs

namespace kcs {
namespace {

// The reference, counted, optionally wrong: shows that a sweep runs a backend that ignores tiles
// once per case, and every tile of a case it did not pass.
class CountingReference : public Backend {
 public:
  explicit CountingReference(bool wrong) : ref_(make_reference_backend()), wrong_(wrong) {}
  std::string name() const override { return "counted"; }
  std::string describe() const override { return "the reference, counted"; }
  Availability availability() const override { return {}; }
  bool supports(const std::string& k) const override { return ref_->supports(k); }
  bool ignores_tiles() const override { return true; }
  int calls = 0;

 protected:
  Status execute(const Invocation& inv) override {
    ++calls;
    Status s = ref_->run(inv);
    if (wrong_) inv.out("scale").data<float>()[0] *= 2;
    return s;
  }

 private:
  std::unique_ptr<Backend> ref_;
  bool wrong_;
};

TEST(Sweep, BackendThatIgnoresTilesRunsOncePerCase) {
  const Catalog c = load_catalog(kernel_or_throw("q8"));
  for (bool wrong : {false, true}) {
    SweepPlan plan;
    auto owned = std::make_unique<CountingReference>(wrong);
    CountingReference* be = owned.get();
    plan.backends.push_back(std::move(owned));
    const std::vector<CaseSpec> cases = select_cases(c, Tier::smoke);
    ASSERT_GE(cases.size(), 2u);
    ASSERT_GE(c.tiles.size(), 2u);
    for (size_t i = 0; i < 2; ++i)
      for (size_t t = 0; t < c.tiles.size(); ++t) plan.items.push_back({cases[i], c.tiles[t], t == 0});
    std::vector<RunRecord> recs;
    SweepOptions o;
    execute_sweep(plan, o, [&](RunRecord&& r) { recs.push_back(std::move(r)); });
    ASSERT_EQ(recs.size(), plan.items.size());
    for (size_t i = 0; i < recs.size(); ++i) {
      EXPECT_EQ(recs[i].tile, plan.items[i].tile.name());
      EXPECT_EQ(recs[i].verdict, wrong ? Verdict::failed : Verdict::passed) << recs[i].reason;
      EXPECT_THAT(recs[i].repro, HasSubstr(plan.items[i].tile.name() == "default" ? "" : plan.items[i].tile.name()));
      if (!plan.items[i].first_tile && !wrong) {
        EXPECT_EQ(recs[i].seconds, 0);
        ASSERT_EQ(recs[i].checks.size(), recs[i - 1].checks.size());
        for (size_t k = 0; k < recs[i].checks.size(); ++k) {
          EXPECT_EQ(recs[i].checks[k].name, recs[i - 1].checks[k].name);
          EXPECT_EQ(recs[i].checks[k].passed, recs[i - 1].checks[k].passed);
          EXPECT_EQ(recs[i].checks[k].message, recs[i - 1].checks[k].message);
        }
      }
    }
    // A pass stands for the case's other tiles; a failure is run at every tile (and re-run once).
    EXPECT_EQ(be->calls, wrong ? static_cast<int>(2 * plan.items.size()) : 2) << "wrong " << wrong;
  }
}

}  // namespace
}  // namespace kcs
