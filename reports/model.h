// What the Markdown and HTML reports show, computed once from the typed results
// (conformance/runner/results_model.h): an overview per
// kernel x backend, and per kernel x output x backend the worst case, summed ULP histograms and a
// tile x backend table. Sweeps of thousands of runs aggregate into groups (the worst check of a
// group is kept whole); failures stay individual.
//
// Verdicts from a backend's expectation list (kcs run --expect): an `xfail` run happened and failed
// as the list says; its checks keep check-level verdict "failed", but they are known failures: they
// are counted apart (xfail, xfail_checks), listed in expected_failures, and never count as failures
// nor raise the worst margin / max ULP of the work that passes. An `unsupported` run did not happen
// (like skipped, with its reason). An unexpected pass arrives as verdict "failed" and stays a failure.
//
// outside_contract_differs: the case lies outside the kernel's contract and the backend differs
// from the reference there. Counted apart like xfail (outside, outside_checks), listed in
// outside_contract with its differing checks; never a pass, never a failure, and its checks never
// raise the worst margin / max ULP of the work that passes.
#pragma once

#include <array>
#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "conformance/runner/results_model.h"
#include "kcs/check.h"

namespace kcs {


// Margins and errors where NaN means "worse than anything" (a NaN margin is a broken check).
double worse_of(double a, double b);
bool is_worse(double a, double b);  // a strictly worse than b
double number(const nlohmann::json& j, const char* key, double fallback = 0);  // "nan"/"inf" strings too

// The optimized variant the machine of a results file picks: "avx512", "avx2" or "none".
std::string optimized_isa(const nlohmann::json& machine);

using ReasonCounts = std::vector<std::pair<std::string, int>>;  // distinct reasons with counts, in order

// The stated reason of an xfail run: its reason without the "; observed: ..." part, so that the
// runs of one expectation entry group together.
std::string xfail_reason(const std::string& run_reason);

struct OverviewRow {
  std::string kernel, backend;
  int runs = 0, passed = 0, failed = 0, errors = 0, skipped = 0;
  int xfail = 0, unsupported = 0;  // expectation list: known failures, runs that did not happen
  int outside = 0;                 // outside_contract_differs runs
  ReasonCounts skip_reasons, xfail_reasons, unsupported_reasons;
  std::string first_error;
  int checks = 0;       // checks of the runs that count (every run but xfail)
  int xfail_checks = 0;  // checks of xfail runs: not in checks, worst_margin, max_ulp
  int outside_checks = 0;  // checks of outside_contract_differs runs: likewise
  double worst_margin = 0;  // over every check that counts; NaN margins count as +inf
  int64_t max_ulp = 0;
};

// A check with the run it belongs to.
struct CheckRef {
  const ResultRun* run = nullptr;
  const CheckResult* check = nullptr;
  explicit operator bool() const { return check != nullptr; }
  const CheckResult* operator->() const { return check; }
};

// One kernel x output x backend, over every case and variant. Checks of xfail runs are only
// counted (xfail); every other field is over the checks that count.
struct OutputGroup {
  std::string kernel, output, backend;
  std::vector<std::string> contracts;  // distinct (one, unless cases differ)
  int checks = 0, failed = 0, cases = 0, xfail = 0, outside = 0;
  double worst_margin = 0, max_abs = 0, max_rel = 0, max_mismatch_ratio = 0;
  int64_t max_ulp = 0, mismatches = 0, numel = 0;
  double min_cosine = 1, min_snr_db = std::numeric_limits<double>::infinity();
  std::array<int64_t, kUlpBuckets> hist{};
  CheckRef worst;  // the check with the worst margin (then ULP, then abs error)
};

struct Cell {  // worst over the checks of a table cell (xfail, outside: checks of such runs, only counted)
  int checks = 0, failed = 0, xfail = 0, outside = 0;
  double worst_margin = 0;
  int64_t max_ulp = 0;
};

struct CaseCell {
  int runs = 0, passed = 0, failed = 0, errors = 0, skipped = 0, xfail = 0, unsupported = 0, outside = 0;
  int checks = 0;  // of the runs that count (not xfail, not outside)
  double worst_margin = 0;
};

struct ClosestRow {
  CheckRef check;                     // the worst check of its case x output
  std::vector<std::string> backends;  // every backend with that same margin there
};

struct KernelView {
  std::string kernel;
  std::vector<std::string> backends, outputs, variants, cases;  // in order of first appearance
  std::map<std::pair<std::string, std::string>, OutputGroup> groups;          // (output, backend)
  std::map<std::tuple<std::string, std::string, std::string>, Cell> tiles;   // (output, variant, backend)
  std::map<std::pair<std::string, std::string>, CaseCell> case_cells;         // (case, backend)
  std::vector<ClosestRow> closest;  // passing checks nearest their limit (margin > 0), worst first; none of xfail runs
};

struct FailedRun {
  const ResultRun* run;
  std::vector<const CheckResult*> checks;  // its failed checks
};

struct ReportModel {
  std::vector<OverviewRow> overview;
  std::vector<KernelView> kernels;
  std::vector<FailedRun> failures;           // failed and error runs, in run order
  std::vector<FailedRun> expected_failures;  // xfail runs, in run order
  std::vector<FailedRun> outside_contract;   // outside_contract_differs runs, in run order
  int runs = 0, passed = 0, failed = 0, errors = 0, skipped = 0, xfail = 0, unsupported = 0, outside = 0;
  int checks = 0, xfail_checks = 0, outside_checks = 0;  // as in OverviewRow
  double worst_margin = 0;           // over the checks that count
  std::map<std::string, int> backend_runs;  // backend -> runs that executed (not skipped, not unsupported)
  bool has_expectations() const { return xfail || unsupported; }
};

// The model keeps pointers into `results`: keep it alive while the model is used.
ReportModel build_model(const Results& results, size_t closest_per_kernel = 10);

// Formatting shared by the writers.
std::string fmt_margin(double m);        // "0", "0.25", "1.5", "inf", "nan"
std::string fmt_num(double v);           // %.4g with inf/nan
std::string fmt_value(double v);         // %.9g with inf/nan (element values)
std::string fmt_ratio(double r);         // as a percentage
std::string fmt_count(int64_t n);        // 1234567 -> "1.23M"
std::string fmt_index(const std::vector<int64_t>& idx);  // [1, 3]
// Words for a margin: "exact", "passes", "near limit", "passes by a hair", "FAILS".
const char* margin_class(double m);
const char* margin_words(double m);

}  // namespace kcs
