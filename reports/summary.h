// Summaries of a results JSON: the terminal table printed by `kcs run` and the Markdown
// summary written beside results.json. (The full HTML report is `kcs report`.)
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace kcs {

struct SummaryRow {
  std::string kernel, backend;
  int runs = 0, passed = 0, failed = 0, errors = 0, skipped = 0;
  double worst_margin = 0;  // max over the checks that ran; > 1 means a contract was exceeded
  std::string skip_reason;
};

std::vector<SummaryRow> summarize(const nlohmann::json& results);
std::string summary_table(const nlohmann::json& results);     // fixed-width text
std::string summary_markdown(const nlohmann::json& results);  // Markdown page
std::string markdown_escape(const std::string& s);

}  // namespace kcs
