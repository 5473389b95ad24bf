// Summaries of results (conformance/runner/results_model.h): the terminal table printed by `kcs run` and the Markdown report
// written beside results.jsonl (the HTML page is reports/html.h).
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "conformance/runner/results_model.h"
#include "reports/baseline.h"

namespace kcs {

struct SummaryRow {
  std::string kernel, backend;
  int runs = 0, passed = 0, failed = 0, errors = 0, skipped = 0;
  int xfail = 0, unsupported = 0;  // from a backend's expectation list (kcs run --expect)
  int outside = 0;                 // outside_contract_differs: counted apart, neither passed nor failed
  int checks = 0;           // of the runs that count (not xfail)
  double worst_margin = 0;  // max over those checks; > 1 means a contract was exceeded
  std::string skip_reason;
};

std::vector<SummaryRow> summarize(const Results& results);
std::string summary_table(const Results& results);     // fixed-width text
std::string summary_markdown(const Results& results);  // report_markdown without a baseline
// The Markdown report: overview, drift (when given), per kernel x output x backend metrics, summed
// ULP histograms, worst elements, tile x backend table, and every failure with its repro line.
std::string report_markdown(const Results& results, const DriftReport* drift = nullptr, size_t max_failures = 1000);
// The same from a schema-1 results object (tests, old callers).
std::string summary_table(const nlohmann::json& results);
std::string report_markdown(const nlohmann::json& results, const DriftReport* drift = nullptr,
                            size_t max_failures = 1000);
std::string markdown_escape(const std::string& s);  // for table cells and text: | * _ ` < > [ ] \ & escaped
std::string markdown_code(const std::string& s);    // an inline code span that survives backticks and |

}  // namespace kcs
