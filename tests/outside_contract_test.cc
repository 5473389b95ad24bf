// Cases outside a kernel's contract (conformance/runner/outside_contract.h): the catalog field, the
// runner's verdict (row isolation included), expectations, the results model, the report and drift.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>

#include "conformance/runner/catalog.h"
#include "conformance/runner/expectations.h"
#include "conformance/runner/outside_contract.h"
#include "conformance/runner/results_model.h"
#include "conformance/runner/results_writer.h"
#include "conformance/runner/runner.h"
#include "kcs/backend.h"
#include "kcs/formats.h"
#include "reports/baseline.h"
#include "reports/html.h"
#include "reports/model.h"
#include "reports/summary.h"

namespace kcs {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

nlohmann::json q8_catalog(const nlohmann::json& outside) {
  return {{"kernel", "q8"},
          {"cases", {{{"name", "n"}, {"dims", {{"rows", 4}, {"n", 16}}}, {"outside_contract", outside}}}}};
}

TEST(OutsideContractCatalog, StringAndObjectForms) {
  const KernelDecl& q8 = kernel_or_throw("q8");
  const Catalog a = parse_catalog(q8, q8_catalog("NaN inputs"), "t");
  EXPECT_EQ(a.cases.at(0).outside_contract, "NaN inputs");
  EXPECT_EQ(a.cases.at(0).in_contract_dim, "");
  const Catalog b = parse_catalog(q8, q8_catalog({{"reason", "NaN inputs"}, {"in_contract_dim", "rows"}}), "t");
  EXPECT_EQ(b.cases.at(0).outside_contract, "NaN inputs");
  EXPECT_EQ(b.cases.at(0).in_contract_dim, "rows");
}

TEST(OutsideContractCatalog, BadDeclarationsNameTheProblem) {
  const KernelDecl& q8 = kernel_or_throw("q8");
  auto error_of = [&](const KernelDecl& d, const nlohmann::json& j) -> std::string {
    try {
      parse_catalog(d, j, "t");
    } catch (const Error& e) {
      return e.what();
    }
    return "no error";
  };
  EXPECT_THAT(error_of(q8, q8_catalog(" ")), HasSubstr("outside_contract needs a reason"));
  EXPECT_THAT(error_of(q8, q8_catalog({{"in_contract_dim", "rows"}})), HasSubstr("needs a reason"));
  EXPECT_THAT(error_of(q8, q8_catalog({{"reason", "r"}, {"rows", "rows"}})), HasSubstr("unknown key 'rows'"));
  EXPECT_THAT(error_of(q8, q8_catalog({{"reason", "r"}, {"in_contract_dim", "m"}})),
              HasSubstr("in_contract_dim 'm' is not a dimension of q8"));
  EXPECT_THAT(error_of(q8, q8_catalog({{"reason", "r"}, {"in_contract_dim", "n"}})),
              HasSubstr("'n' is not the leading dimension of tensor x"));
  EXPECT_THAT(error_of(q8, q8_catalog(3)), HasSubstr("must be a string (the reason) or an object"));
  EXPECT_THAT(error_of(q8, q8_catalog({{"reason", "r"}, {"inputs", {"codes"}}})),
              HasSubstr("'inputs' names \"codes\", not an input of q8"));
  EXPECT_THAT(error_of(q8, q8_catalog({{"reason", "r"}, {"outputs", "scale"}})),
              HasSubstr("'outputs' must be a list of tensor names"));
  // A cache row may be written by any token: no row split for kernels with inout tensors.
  const KernelDecl& ip = kernel_or_throw("indexer_prolog");
  const nlohmann::json ipc = {
      {"kernel", "indexer_prolog"},
      {"cases", {{{"name", "n"}, {"outside_contract", {{"reason", "r"}, {"in_contract_dim", "t"}}}}}}};
  EXPECT_THAT(error_of(ip, ipc), HasSubstr("in_contract_dim needs a kernel without inout tensors"));
}

CaseSpec nan_inf_case() {
  const Catalog c = load_catalog(kernel_or_throw("q8"));
  for (const auto& cs : c.cases)
    if (cs.id.rfind("q8.nan_inf.", 0) == 0 && cs.problem.dim("n") == 17 && cs.problem.attr("x_dtype") == "float32")
      return cs;
  throw Error("no q8.nan_inf case with n=17, float32 in the catalog");
}

bool row_finite(const Tensor& x, int64_t r) {
  const float* p = x.data<float>() + r * x.row_len();
  for (int64_t j = 0; j < x.row_len(); ++j)
    if (!std::isfinite(p[j])) return false;
  return true;
}

// The reference, then `change` on its outputs: a backend that differs where `change` says.
class ChangedReference : public Backend {
 public:
  explicit ChangedReference(std::function<void(const Invocation&)> change) : change_(std::move(change)) {}
  std::string name() const override { return "changed"; }
  std::string describe() const override { return "the reference with a change"; }
  Availability availability() const override { return {}; }
  bool supports(const std::string&) const override { return true; }
  Status execute(const Invocation& inv) override {
    Status s = ref_->run(inv);
    if (s) change_(inv);
    return s;
  }

 private:
  std::unique_ptr<Backend> ref_ = make_reference_backend();
  std::function<void(const Invocation&)> change_;
};

// Scale +0 for every row with a NaN or Inf input (the reference gives NaN or +Inf there); `leak`:
// the row after such a row too.
ChangedReference flushing(bool leak) {
  return ChangedReference([leak](const Invocation& inv) {
    const Tensor& x = inv.in("x");
    float* s = inv.out("scale").data<float>();
    for (int64_t r = 0; r < x.rows(); ++r)
      if (!row_finite(x, r)) {
        s[r] = 0;
        if (leak && r + 1 < x.rows()) s[r + 1] = 0;
      }
  });
}

TEST(OutsideContractRunner, MatchingBackendPasses) {
  const CaseSpec cs = nan_inf_case();
  ChangedReference same([](const Invocation&) {});
  const RunRecord r = run_case(cs, make_bundle(cs), same, TileConfig{}, 1);
  EXPECT_EQ(r.verdict, Verdict::passed) << r.reason;
}

TEST(OutsideContractRunner, DifferingOnlyOnNonfiniteRowsIsOutsideTheContract) {
  const CaseSpec cs = nan_inf_case();
  const Bundle b = make_bundle(cs);
  ASSERT_FALSE(row_finite(b.inputs.at("x"), 0));
  ASSERT_TRUE(row_finite(b.inputs.at("x"), 3));
  auto be = flushing(false);
  const RunRecord r = run_case(cs, b, be, TileConfig{}, 1);
  EXPECT_EQ(r.verdict, Verdict::outside_contract_differs) << r.reason;
  EXPECT_FALSE(verdict_is_failure(r.verdict));
  EXPECT_THAT(r.reason, HasSubstr("outside the contract (NaN and Inf inputs"));
  EXPECT_THAT(r.reason, HasSubstr("differs in scale"));
  EXPECT_THAT(r.reason, HasSubstr("the 2 of 8 rows slices whose inputs are all finite match"));
  // The checks show how it differs: scale failed on the nonfinite rows, codes matched.
  bool scale_failed = false;
  for (const auto& c : r.checks) {
    if (c.name == "scale") scale_failed = !c.passed && c.metrics.mismatches == 6;
    if (c.name == "codes") {
      EXPECT_TRUE(c.passed);
    }
  }
  EXPECT_TRUE(scale_failed);
}

TEST(OutsideContractRunner, DifferingOnAFiniteRowStillFails) {
  const CaseSpec cs = nan_inf_case();
  auto be = flushing(true);  // row 3 (finite, after the nonfinite row 2) changes too
  const RunRecord r = run_case(cs, make_bundle(cs), be, TileConfig{}, 1);
  EXPECT_EQ(r.verdict, Verdict::failed);
  EXPECT_THAT(r.reason, HasSubstr("scale (inside the contract: the rows slices whose inputs are all finite): scale["));
  // The recorded checks are those of the in-contract rows alone: rows 3 and 7 differ.
  for (const auto& c : r.checks)
    if (c.name == "scale") {
      EXPECT_EQ(c.metrics.mismatches, 2);
    }
}

TEST(OutsideContractRunner, WithoutInContractDimTheWholeCaseIsOutside) {
  CaseSpec cs = nan_inf_case();
  cs.in_contract_dim.clear();
  auto be = flushing(true);
  const RunRecord r = run_case(cs, make_bundle(cs), be, TileConfig{}, 1);
  EXPECT_EQ(r.verdict, Verdict::outside_contract_differs) << r.reason;
  EXPECT_THAT(r.reason, Not(HasSubstr("slices")));
}

TEST(OutsideContractRunner, AnUnmarkedCaseFailsAsBefore) {
  CaseSpec cs = nan_inf_case();
  cs.outside_contract.clear();
  cs.in_contract_dim.clear();
  auto be = flushing(false);
  const RunRecord r = run_case(cs, make_bundle(cs), be, TileConfig{}, 1);
  EXPECT_EQ(r.verdict, Verdict::failed);
}

TEST(OutsideContractRunner, WritingAnInputIsNeverExcused) {
  const CaseSpec cs = nan_inf_case();
  ChangedReference writes_input([](const Invocation& inv) {
    const_cast<Tensor&>(inv.in("x")).data<float>()[0] = 1;  // row 0 holds a NaN somewhere
    inv.out("scale").data<float>()[0] = 0;
  });
  const RunRecord r = run_case(cs, make_bundle(cs), writes_input, TileConfig{}, 1);
  EXPECT_EQ(r.verdict, Verdict::failed) << r.reason;
  EXPECT_THAT(r.reason, HasSubstr("input.x"));
}

TEST(OutsideContractRunner, MaskOutsideKeepsOnlyTheInContractRows) {
  const CaseSpec cs = nan_inf_case();
  const KernelDecl& d = kernel_or_throw("q8");
  const Bundle b = make_bundle(cs);
  const std::vector<uint8_t> in = in_contract_slices(cs, d, b);
  EXPECT_EQ(in, (std::vector<uint8_t>{0, 0, 0, 1, 0, 0, 0, 1}));
  TensorMap actual = b.outputs;
  for (int64_t r = 0; r < 8; ++r) actual.at("scale").data<float>()[r] = 5;
  const TensorMap masked = mask_outside(cs, d, b, actual, in);
  for (int64_t r = 0; r < 8; ++r) {
    const float got = masked.at("scale").data<float>()[r], want = b.outputs.at("scale").data<float>()[r];
    if (in[static_cast<size_t>(r)]) {
      EXPECT_EQ(got, 5);
    } else {
      EXPECT_TRUE(got == want || (std::isnan(got) && std::isnan(want))) << r;
    }
  }
}

// K4: the outputs the NaN / Inf hidden states decide (x_fp4, x_sf) lie outside in those rows; the
// top-k copies stay inside the contract everywhere (every bit pattern must survive).
TEST(OutsideContractRunner, OnlyTheListedOutputsLieOutside) {
  const Catalog c = load_catalog(kernel_or_throw("nvfp4_stage"));
  const std::vector<CaseSpec> ids64 = select_cases(c, Tier::smoke, "nvfp4_stage.ids64*");
  ASSERT_EQ(ids64.size(), 1u);
  const CaseSpec& cs = ids64[0];
  const Bundle b = make_bundle(cs);
  const std::vector<uint8_t> in = in_contract_slices(cs, kernel_or_throw("nvfp4_stage"), b);
  ASSERT_EQ(in.at(0), 0);  // row 0 holds an Inf
  ChangedReference scale_bits([](const Invocation& inv) { static_cast<uint8_t*>(inv.out("x_sf").raw())[0] ^= 1; });
  const RunRecord a = run_case(cs, b, scale_bits, TileConfig{}, 1);
  EXPECT_EQ(a.verdict, Verdict::outside_contract_differs) << a.reason;
  ChangedReference copy([](const Invocation& inv) { inv.out("topk_weights_out").data<float>()[0] = 12345.0f; });
  const RunRecord f = run_case(cs, b, copy, TileConfig{}, 1);
  EXPECT_EQ(f.verdict, Verdict::failed) << f.reason;
  EXPECT_THAT(f.reason, HasSubstr("topk_weights_out (inside the contract"));
}

TEST(OutsideContractExpectations, XfailCoversAnOutsideDifference) {
  Expectation e;
  e.case_pattern = "q8.nan_inf.*";
  e.reason = "NaN rows flushed";
  RunRecord r;
  r.verdict = Verdict::outside_contract_differs;
  r.reason = "outside the contract (x): differs in scale";
  apply_xfail(e, "x.json", r);
  EXPECT_EQ(r.verdict, Verdict::xfail);
  EXPECT_THAT(r.reason, HasSubstr("observed: outside the contract"));
}

// Two runs of one case: a pass and an outside-contract difference whose check is far off.
Results two_runs() {
  RunRecord pass, out;
  for (RunRecord* r : {&pass, &out}) {
    r->kernel = "q8";
    r->case_id = "q8.nan_inf.x";
    r->tile = "default";
    r->repro = "kcs run --case q8.nan_inf.x";
    CheckResult c;
    c.name = "scale";
    c.contract = "exact";
    c.passed = true;
    c.metrics.numel = 8;
    r->checks.push_back(c);
  }
  pass.backend = "reference";
  pass.verdict = Verdict::passed;
  out.backend = "flush";
  out.verdict = Verdict::outside_contract_differs;
  out.reason = "outside the contract (NaN inputs): differs in scale";
  out.checks[0].passed = false;
  out.checks[0].margin = INFINITY;
  out.checks[0].metrics.max_ulp = 1000;
  out.checks[0].metrics.mismatches = 6;
  Results res;
  res.header.tier = "ci";
  res.runs.push_back(to_result_run(pass));
  res.runs.push_back(to_result_run(out));
  return res;
}

TEST(OutsideContractResults, NeitherAPassNorAFailureAndRoundTrips) {
  EXPECT_FALSE(verdict_fails("outside_contract_differs"));
  EXPECT_FALSE(verdict_is_error("outside_contract_differs"));
  EXPECT_TRUE(verdict_counted_apart("outside_contract_differs"));
  const Results res = two_runs();
  const ResultRun back = run_from_line(run_line(res.runs[1], res.runs[1].full), "t", {});
  EXPECT_EQ(back.verdict, "outside_contract_differs");
  EXPECT_FALSE(back.checks.at(0).passed);
}

TEST(OutsideContractReport, CountedApartAndShown) {
  const Results res = two_runs();
  const ReportModel m = build_model(res);
  EXPECT_EQ(m.outside, 1);
  EXPECT_EQ(m.passed, 1);
  EXPECT_EQ(m.failed + m.errors, 0);
  EXPECT_TRUE(m.failures.empty());
  ASSERT_EQ(m.outside_contract.size(), 1u);
  EXPECT_EQ(m.outside_contract[0].checks.size(), 1u);
  EXPECT_EQ(m.checks, 1);  // the passing run's check only
  EXPECT_EQ(m.outside_checks, 1);
  EXPECT_EQ(m.worst_margin, 0);  // the difference does not raise the worst margin
  EXPECT_THAT(summary_table(res), HasSubstr("1 OUTSIDE CONTRACT (differ)"));
  const std::string md = report_markdown(res);
  EXPECT_THAT(md, HasSubstr("1 outside the contract (differ)"));
  EXPECT_THAT(md, HasSubstr("## Outside the contract: differs"));
  EXPECT_THAT(md, HasSubstr("No failures."));
  const std::string html = report_html(res);
  EXPECT_THAT(html, HasSubstr("id=\"outside-contract\""));
  EXPECT_THAT(html, HasSubstr("1 outside the contract: differ"));
  EXPECT_THAT(html, HasSubstr("outside the contract (differ)</th>"));
}

TEST(OutsideContractBaseline, ADifferenceWhereTheBaselineMatchedIsDrift) {
  Results base = two_runs(), cur = two_runs();
  base.runs[1].verdict = "passed";
  base.runs[1].checks[0] = base.runs[0].checks[0];
  const DriftReport same = compare_with_baseline(make_baseline(cur), cur);
  EXPECT_FALSE(same.has_drift());
  const DriftReport d = compare_with_baseline(make_baseline(base), cur);
  ASSERT_TRUE(d.has_drift());
  EXPECT_EQ(d.drift.at(0).kind, "new failure");
  EXPECT_EQ(d.drift.at(0).backend, "flush");
}

}  // namespace
}  // namespace kcs
