#include "tools/results_commands.h"

#include <cstdio>
#include <memory>

#include "conformance/runner/json_input.h"
#include "conformance/runner/results.h"
#include "conformance/runner/results_merge.h"
#include "conformance/runner/results_model.h"
#include "conformance/runner/results_writer.h"
#include "reports/baseline.h"
#include "reports/html.h"
#include "reports/summary.h"

namespace kcs {

namespace {

// A results file of either format; a baseline given as results is refused with the fix.
Results load_results(const std::string& path) {
  std::string text = read_text_file_bounded(path, JsonLimits{}.max_bytes);
  if (is_results_lines(text)) return parse_results_text(text, path);
  const nlohmann::json j = parse_json_bounded(text, path);
  text = std::string();
  if (is_baseline(j)) throw Error(path + " is a baseline, not a results file: pass it with --baseline");
  return results_from_json(j, path);
}

void warn_incomplete(const Results& r, const std::string& path) {
  if (!r.header.complete)
    std::fprintf(stderr, "kcs: warning: %s is incomplete (its sweep was interrupted after %zu runs; "
                 "kcs run --resume continues it): the report covers what finished\n", path.c_str(), r.runs.size());
}

}  // namespace

int cmd_report(const ReportOptions& o) {
  if (o.out_dir.empty() && o.write_baseline.empty()) throw Error("kcs report needs --out DIR or --write-baseline FILE");
  if (o.fail_on_drift && o.baseline.empty()) throw Error("--fail-on-drift needs --baseline");
  if (!o.out_dir.empty()) check_writable(o.out_dir + "/summary.md");
  if (!o.write_baseline.empty()) check_writable(o.write_baseline);
  std::vector<Results> parts;
  for (const auto& p : o.results) parts.push_back(load_results(p));
  Results results;
  if (parts.size() == 1) {
    results = std::move(parts.front());
    warn_incomplete(results, o.results.front());
  } else {
    MergedResults merged = merge_results(std::move(parts), o.results);
    for (const auto& m : merged.missing) std::fprintf(stderr, "kcs: warning: %s\n", m.c_str());
    results = std::move(merged.results);
  }
  std::unique_ptr<DriftReport> drift;
  if (!o.baseline.empty()) {
    std::string text = read_text_file_bounded(o.baseline, JsonLimits{}.max_bytes);
    if (is_results_lines(text)) {
      drift = std::make_unique<DriftReport>(compare_with_baseline(parse_results_text(text, o.baseline), results));
    } else {
      const nlohmann::json base = parse_json_bounded(text, o.baseline);
      text = std::string();
      drift = std::make_unique<DriftReport>(is_baseline(base)
                                                ? compare_with_baseline(base, results)
                                                : compare_with_baseline(results_from_json(base, o.baseline), results));
    }
  }
  if (!o.out_dir.empty()) {
    write_text_file(o.out_dir + "/index.html", report_html(results, drift.get()));
    write_text_file(o.out_dir + "/summary.md", report_markdown(results, drift.get()));
  }
  if (!o.write_baseline.empty()) write_text_file(o.write_baseline, baseline_text(make_baseline(results)));
  std::printf("%s", summary_table(results).c_str());
  if (drift) std::printf("%s", drift_text(*drift).c_str());
  if (!o.out_dir.empty()) std::printf("report: %s/index.html\nsummary: %s/summary.md\n", o.out_dir.c_str(), o.out_dir.c_str());
  if (!o.write_baseline.empty()) std::printf("baseline: %s\n", o.write_baseline.c_str());
  if (drift && drift->has_drift() && o.fail_on_drift) {
    std::printf("kcs report: %zu drifted against %s (--fail-on-drift)\n", drift->drift.size(), o.baseline.c_str());
    return 1;
  }
  return 0;
}

int cmd_merge(const std::vector<std::string>& inputs, const std::string& out) {
  check_writable(out);
  std::vector<Results> parts;
  for (const auto& p : inputs) parts.push_back(load_results(p));
  const MergedResults merged = merge_results(std::move(parts), inputs);
  write_results_file(out, merged.results, merged.missing.empty());
  std::printf("%s", summary_table(merged.results).c_str());
  for (const auto& m : merged.missing) std::printf("MISSING %s\n", m.c_str());
  if (!merged.missing.empty()) {
    std::printf("kcs merge: %s is incomplete (%zu problems above)\n", out.c_str(), merged.missing.size());
    return 1;
  }
  return 0;
}

void print_outside_contract(const Results& results, const std::string& results_path) {
  int n = 0;
  for (const auto& r : results.runs) {
    if (r.verdict != kOutsideContractDiffers) continue;
    if (++n <= 20) std::printf("OUTSIDE-CONTRACT %s  # %s\n", r.repro.c_str(), r.reason.c_str());
  }
  if (n > 20) std::printf("... and %d more (%s)\n", n - 20, results_path.empty() ? "write them all with --results FILE" : ("all in " + results_path).c_str());
  if (n)
    std::printf("%d run%s differ from the reference outside the kernel's contract (counted apart: neither passed nor "
                "failed; exit status unchanged)\n", n, n == 1 ? "" : "s");
}

void write_check_results(const std::string& path, const RunRecord& r, const std::string& tier) {
  Results res;
  res.header = make_header(tier, r.repro, 0, 1, {r.backend}, {r.case_id});
  res.runs.push_back(to_result_run(r));
  write_results_file(path, res);
}

}  // namespace kcs
