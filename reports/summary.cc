#include "reports/summary.h"

#include <cmath>
#include <cstdio>
#include <map>
#include <sstream>

#include "conformance/runner/results.h"

namespace kcs {

std::vector<SummaryRow> summarize(const nlohmann::json& results) {
  std::map<std::pair<std::string, std::string>, SummaryRow> rows;
  std::vector<std::pair<std::string, std::string>> order;
  auto row = [&](const std::string& k, const std::string& b) -> SummaryRow& {
    auto key = std::make_pair(k, b);
    if (!rows.count(key)) {
      order.push_back(key);
      rows[key].kernel = k;
      rows[key].backend = b;
    }
    return rows[key];
  };
  for (const auto& r : results.at("runs")) {
    SummaryRow& s = row(r.at("kernel"), r.at("backend"));
    const std::string v = r.at("verdict");
    ++s.runs;
    if (v == "passed") ++s.passed;
    if (v == "failed") ++s.failed;
    if (v == "error") ++s.errors;
    if (v == "skipped") {
      ++s.skipped;
      if (s.skip_reason.empty()) s.skip_reason = r.value("reason", "");
    }
  }
  for (const auto& c : results.at("results")) {
    SummaryRow& s = row(c.at("kernel"), c.at("backend"));
    const double m = json_to_double(c.at("margin"));
    if (std::isnan(m) || m > s.worst_margin) s.worst_margin = std::isnan(m) ? INFINITY : m;
  }
  std::vector<SummaryRow> out;
  for (const auto& k : order) out.push_back(rows[k]);
  return out;
}

static std::string margin_str(double m) {
  if (std::isinf(m)) return "inf";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3g", m);
  return buf;
}

std::string summary_table(const nlohmann::json& results) {
  std::ostringstream os;
  char line[256];
  std::snprintf(line, sizeof line, "%-12s %-10s %6s %6s %6s %6s %7s %8s  %s\n", "kernel", "backend", "runs", "pass",
                "fail", "error", "skipped", "margin", "note");
  os << line;
  for (const auto& s : summarize(results)) {
    std::snprintf(line, sizeof line, "%-12s %-10s %6d %6d %6d %6d %7d %8s  %s\n", s.kernel.c_str(), s.backend.c_str(),
                  s.runs, s.passed, s.failed, s.errors, s.skipped, margin_str(s.worst_margin).c_str(),
                  s.skipped ? ("skipped: " + s.skip_reason).c_str() : "");
    os << line;
  }
  return os.str();
}

std::string markdown_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '|' || c == '*' || c == '_' || c == '`' || c == '<' || c == '>' || c == '[' || c == ']' || c == '\\')
      out += '\\';
    out += c == '\n' ? ' ' : c;
  }
  return out;
}

std::string summary_markdown(const nlohmann::json& results) {
  std::ostringstream os;
  const auto& m = results.at("machine");
  os << "# kcs conformance summary\n\n";
  os << "- tier: " << results.value("tier", "") << "\n";
  os << "- date: " << results.value("date", "") << "\n";
  os << "- kcs " << results.value("kcs_version", "") << ", spec " << results.value("spec_version", "") << ", "
     << markdown_escape(results.value("compiler", "")) << "\n";
  os << "- CPU: " << markdown_escape(m.value("cpu", "")) << "\n";
  std::string feats;
  for (const auto& f : m.at("features")) feats += (feats.empty() ? "" : " ") + f.get<std::string>();
  os << "- features: " << feats << "\n";
  for (const auto& [isa, v] : m.at("isa").items())
    os << "- " << isa << ": " << (v.value("runnable", false) ? "runs here" : "skipped, " + v.value("reason", ""))
       << "\n";
  os << "\n| kernel | backend | runs | passed | failed | errors | skipped | worst margin |\n";
  os << "|---|---|---:|---:|---:|---:|---:|---:|\n";
  for (const auto& s : summarize(results))
    os << "| " << markdown_escape(s.kernel) << " | " << markdown_escape(s.backend) << " | " << s.runs << " | "
       << s.passed << " | " << s.failed << " | " << s.errors << " | " << s.skipped
       << (s.skipped ? " (" + markdown_escape(s.skip_reason) + ")" : "") << " | " << margin_str(s.worst_margin)
       << " |\n";
  os << "\nMargin = observed error / allowed error of the binding contract (<= 1 passes; 0 = bit-exact).\n";

  bool any = false;
  for (const auto& r : results.at("runs")) {
    const std::string v = r.at("verdict");
    if (v != "failed" && v != "error") continue;
    if (!any) os << "\n## Failures\n\n";
    any = true;
    os << "- **" << markdown_escape(r.at("case")) << "** on " << markdown_escape(r.at("backend")) << " (tile "
       << markdown_escape(r.at("tile")) << "): " << markdown_escape(r.value("reason", "")) << "  \n  repro: `"
       << r.value("repro", "") << "`\n";
  }
  if (!any) os << "\nNo failures.\n";
  return os.str();
}

}  // namespace kcs
