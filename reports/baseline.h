// Baselines and drift: compare a results file with an earlier one (a full results file or the
// compact baseline that `kcs report --write-baseline` writes) and list what got worse.
//
// Compared per kernel x case x backend x variant (tile, threads) x output:
//   drift     max ULP, mismatch ratio or margin got worse; a check failed that passed (or a new
//             case fails); the contract text changed; an output, variant, case or kernel of the
//             baseline is missing; a variant that ran in the baseline is now skipped or unsupported.
//             An xfail run (expectation list) is compared as the failed run it is (baseline.cc says why).
//   new       kernels, cases, variants and outputs the baseline does not know (reported, not drift:
//             kernels are added all the time; a new case that fails is drift all the same).
//   improved  better than the baseline (regenerate it to lock the gain in).
// Backends are matched by name. `optimized` is the best ISA of the machine: when the baseline's
// machine picked another one (say avx512 there, avx2 here), its metric changes are listed as
// informational; its verdicts still count. Machine fields (cpu, date) are informational.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "conformance/runner/results_model.h"

namespace kcs {

constexpr int kBaselineVersion = 1;

struct DriftItem {
  std::string kind;  // "worse", "new failure", "contract changed", "output missing", "variant missing",
                     // "variant skipped", "variant unsupported", "case disappeared", "kernel disappeared", "new kernel", ...
  std::string kernel, case_id, backend, variant, output;
  std::string detail;  // what changed, e.g. "max_ulp 0 -> 3, margin 0 -> 0.75"
  std::string line() const;  // "worse: q8.x.rows=3 optimized row_tile=3 codes: max_ulp 0 -> 3"
};

struct DriftReport {
  std::vector<DriftItem> drift;      // --fail-on-drift fails on any of these
  std::vector<DriftItem> fresh;      // not in the baseline
  std::vector<DriftItem> improved;   // better than the baseline
  std::vector<DriftItem> other_isa;  // metric changes of `optimized` on a different ISA than the baseline's
  std::vector<std::string> notes;    // provenance of the baseline, what was not compared and why
  int compared_runs = 0, compared_checks = 0;
  bool has_drift() const { return !drift.empty(); }
};

bool is_baseline(const nlohmann::json& j);
// Compact form of a results file: per kernel x case, the backends and variants with an identical
// outcome (verdict; per output max ULP, mismatch ratio, margin, and the contract and verdict where
// they are not the usual ones) share one entry; "variants": "*" means every variant of the kernel.
nlohmann::json make_baseline(const Results& results);
nlohmann::json make_baseline(const nlohmann::json& results);  // a schema-1 results object
// One entry per line in a stable order, so that a regenerated baseline diffs readably.
std::string baseline_text(const nlohmann::json& baseline);

// `baseline` is a compact baseline or a results file. Throws kcs::Error when the tiers differ.
DriftReport compare_with_baseline(const nlohmann::json& baseline, const nlohmann::json& current);
DriftReport compare_with_baseline(const nlohmann::json& baseline, const Results& current);
DriftReport compare_with_baseline(const Results& baseline, const Results& current);

// Plain-text drift list for the terminal (at most `limit` lines per section).
std::string drift_text(const DriftReport& d, size_t limit = 100);

}  // namespace kcs
