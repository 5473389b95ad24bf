// The results side of the kcs CLI: `kcs merge`, `kcs report`, and the results file of `kcs check`.
// tools/kcs.cc parses the options; the work is here and in conformance/runner/results_*.
#pragma once

#include <string>
#include <vector>

#include "conformance/runner/results_model.h"
#include "conformance/runner/runner.h"

namespace kcs {

struct ReportOptions {
  std::vector<std::string> results;
  std::string baseline, out_dir, write_baseline;
  bool fail_on_drift = false;
};

// Exit 0, or 1 when --fail-on-drift and something drifted (each drifted output is named).
int cmd_report(const ReportOptions& o);
// Exit 0; 1 when shards, cases or finished sweeps are missing (the merged file is then written,
// marked incomplete); parts that cannot be merged throw kcs::Error (exit 2) and write nothing.
int cmd_merge(const std::vector<std::string>& inputs, const std::string& out);
// After a sweep: one OUTSIDE-CONTRACT line per run that differs from the reference on a case
// outside the kernel's contract (at most 20, then a count), and the total. They do not change the
// exit status: the differences are allowed, but never a silent pass.
void print_outside_contract(const Results& results, const std::string& results_path);
// The results file of `kcs check` (one run).
void write_check_results(const std::string& path, const RunRecord& r, const std::string& tier);

}  // namespace kcs
