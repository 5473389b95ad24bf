// The HTML accuracy report: one self-contained page (inline CSS, inline SVG histograms, no
// JavaScript, nothing fetched) from results (conformance/runner/results_model.h) and, optionally, a drift report. Every string
// that comes from the JSON is escaped.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "conformance/runner/results_model.h"
#include "kcs/check.h"
#include "reports/baseline.h"

namespace kcs {

struct HtmlOptions {
  size_t max_failures = 1000;   // failed runs listed one by one; the rest are counted
  size_t max_case_rows = 500;   // rows of a kernel's per-case table
  size_t max_drift_rows = 1000; // per drift section
  size_t closest = 10;          // "closest to the limit" rows per kernel
};

std::string html_escape(const std::string& s);  // & < > " ' -> entities
// A bar chart of a ULP histogram (log-scaled heights, counts on the bars).
std::string ulp_histogram_svg(const std::array<int64_t, kUlpBuckets>& hist, const std::string& title);
std::string report_html(const Results& results, const DriftReport* drift = nullptr, const HtmlOptions& options = {});
// The same from a schema-1 results object (tests, old callers).
std::string report_html(const nlohmann::json& results, const DriftReport* drift = nullptr,
                        const HtmlOptions& options = {});

}  // namespace kcs
