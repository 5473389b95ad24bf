#include "reports/summary.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <sstream>
#include <tuple>

#include "conformance/runner/results.h"
#include "reports/model.h"

namespace kcs {

// From the report's model, so that the terminal table, summary.md and index.html agree: the
// checks of xfail runs do not raise the worst margin here either.
std::vector<SummaryRow> summarize(const Results& results) {
  std::vector<SummaryRow> out;
  for (const auto& o : build_model(results, 0).overview) {
    SummaryRow s;
    s.kernel = o.kernel;
    s.backend = o.backend;
    s.runs = o.runs;
    s.passed = o.passed;
    s.failed = o.failed;
    s.errors = o.errors;
    s.skipped = o.skipped;
    s.xfail = o.xfail;
    s.unsupported = o.unsupported;
    s.outside = o.outside;
    s.checks = o.checks;
    s.worst_margin = o.worst_margin;
    if (!o.skip_reasons.empty()) s.skip_reason = o.skip_reasons.front().first;
    out.push_back(s);
  }
  return out;
}

static std::string margin_str(double m) { return fmt_margin(m); }

// xfail / unsupported runs (expectation lists) are counted in the note, so the columns stay as
// they were for every results file without them.
static std::string summary_note(const SummaryRow& s) {
  std::string n;
  if (s.outside) n += std::to_string(s.outside) + " OUTSIDE CONTRACT (differ)";
  if (s.xfail) n += (n.empty() ? "" : ", ") + std::to_string(s.xfail) + " xfail";
  if (s.unsupported) n += (n.empty() ? "" : ", ") + std::to_string(s.unsupported) + " unsupported";
  if (s.skipped) n += (n.empty() ? "" : "; ") + ("skipped: " + s.skip_reason);
  return n;
}

std::string summary_table(const Results& results) {
  std::ostringstream os;
  char line[256];
  std::snprintf(line, sizeof line, "%-12s %-10s %6s %6s %6s %6s %7s %8s  %s\n", "kernel", "backend", "runs", "pass",
                "fail", "error", "skipped", "margin", "note");
  os << line;
  for (const auto& s : summarize(results)) {
    std::snprintf(line, sizeof line, "%-12s %-10s %6d %6d %6d %6d %7d %8s  %s\n", s.kernel.c_str(), s.backend.c_str(),
                  s.runs, s.passed, s.failed, s.errors, s.skipped, s.checks ? margin_str(s.worst_margin).c_str() : "-",
                  summary_note(s).c_str());
    os << line;
  }
  return os.str();
}

std::string markdown_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '|' || c == '*' || c == '_' || c == '`' || c == '<' || c == '>' || c == '[' || c == ']' || c == '\\' ||
        c == '&')
      out += '\\';
    out += c == '\n' || c == '\r' ? ' ' : c;
  }
  return out;
}

std::string markdown_code(const std::string& s) {
  // A fence longer than the longest backtick run inside; | escaped so that tables keep their cells
  // (GFM removes the backslash inside code in a table cell).
  size_t longest = 0, run = 0;
  std::string body;
  for (char c : s) {
    run = c == '`' ? run + 1 : 0;
    longest = std::max(longest, run);
    if (c == '|') body += '\\';
    body += c == '\n' || c == '\r' ? ' ' : c;
  }
  if (body.empty()) return "";
  const std::string fence(longest + 1, '`');
  const bool pad = body.front() == '`' || body.back() == '`';
  return fence + (pad ? " " : "") + body + (pad ? " " : "") + fence;
}

// Runs that a backend's expectation list (kcs run --expect) marked xfail or unsupported, grouped
// by kernel, backend, verdict and stated reason (an xfail's observed failure is left out here; each
// run is listed with it under "Expected failures").
static void markdown_expected(std::ostringstream& os, const ReportModel& model) {
  if (!model.has_expectations()) return;
  os << "\n## Expected failures and unsupported cases\n\nFrom the backends' expectation lists (`kcs run "
        "--expect`): an expected failure (xfail) ran and failed as listed; it is not counted as a failure and its "
        "checks are not in the checks, worst margin and max ULP figures. An unsupported case did not run.\n\n"
        "| kernel | backend | verdict | runs | reason |\n|---|---|---|---:|---|\n";
  for (const auto& o : model.overview)
    for (const auto* v : {"xfail", "unsupported"})
      for (const auto& [why, n] : std::string(v) == "xfail" ? o.xfail_reasons : o.unsupported_reasons)
        os << "| " << markdown_escape(o.kernel) << " | " << markdown_escape(o.backend) << " | " << v << " | " << n
           << " | " << markdown_escape(why) << " |\n";
}

// Runs that differ from the reference on cases outside the kernel's contract, with how they differ.
static void markdown_outside(std::ostringstream& os, const ReportModel& model, size_t max_runs) {
  if (model.outside_contract.empty()) return;
  os << "\n## Outside the contract: differs\n\n" << model.outside_contract.size()
     << " runs differ from the reference on cases whose inputs lie outside the kernel's contract (the catalog's "
        "`outside_contract`, e.g. NaN and Inf inputs): neither passed nor failed, and their checks are not in the "
        "checks, worst margin and max ULP figures. The reference documents one behaviour there; a backend may "
        "differ.\n\n";
  for (size_t i = 0; i < model.outside_contract.size() && i < max_runs; ++i) {
    const FailedRun& f = model.outside_contract[i];
    const ResultRun& r = *f.run;
    std::string outs;
    for (const CheckResult* c : f.checks) outs += (outs.empty() ? "" : ", ") + markdown_code(c->name);
    os << "- **outside contract** " << markdown_code(r.case_id) << " on " << markdown_escape(r.backend) << " ("
       << markdown_escape(variant_name(r)) << "): differs in " << outs << ": " << markdown_escape(r.reason) << "  \n"
       << "  repro: " << markdown_code(r.repro) << "\n";
  }
  if (model.outside_contract.size() > max_runs)
    os << "\n... and " << model.outside_contract.size() - max_runs << " more (see results.jsonl).\n";
}

static void markdown_drift(std::ostringstream& os, const DriftReport& d) {
  os << "\n## Drift against the baseline\n\n";
  os << (d.drift.empty() ? "**No drift.**" : "**" + std::to_string(d.drift.size()) + " drifted.**") << " Compared "
     << d.compared_runs << " runs, " << d.compared_checks << " checks.\n\n";
  for (const auto& n : d.notes) os << "- " << markdown_escape(n) << "\n";
  auto table = [&](const char* title, const std::vector<DriftItem>& v) {
    if (v.empty()) return;
    os << "\n### " << title << " (" << v.size() << ")\n\n| kind | kernel / case | backend | variant | output | detail |\n"
       << "|---|---|---|---|---|---|\n";
    for (size_t i = 0; i < v.size() && i < 1000; ++i) {
      const auto& x = v[i];
      os << "| " << markdown_escape(x.kind) << " | " << markdown_code(x.case_id.empty() ? x.kernel : x.case_id) << " | "
         << markdown_escape(x.backend) << " | " << markdown_escape(x.variant) << " | " << markdown_code(x.output)
         << " | " << markdown_escape(x.detail) << " |\n";
    }
    if (v.size() > 1000) os << "\n... and " << v.size() - 1000 << " more.\n";
  };
  table("Drifted (worse than the baseline)", d.drift);
  table("New, not in the baseline (not drift)", d.fresh);
  table("Better than the baseline (regenerate it to keep the gain)", d.improved);
  table("optimized ran another ISA than the baseline (informational)", d.other_isa);
}

std::string report_markdown(const Results& results, const DriftReport* drift, size_t max_failures) {
  using nlohmann::json;
  const ReportModel model = build_model(results);
  std::ostringstream os;
  const ResultsHeader& h = results.header;
  const json& m = h.machine;
  os << "# kcs accuracy report\n\n";
  os << "- tier: " << markdown_escape(h.tier) << "\n";
  os << "- date: " << markdown_escape(h.date) << "\n";
  os << "- kcs " << markdown_escape(h.kcs_version) << ", spec "
     << markdown_escape(h.spec_version) << ", " << markdown_escape(h.compiler)
     << "\n";
  os << "- command: " << markdown_code(h.command) << "\n";
  os << "- CPU: " << markdown_escape(m.value("cpu", "")) << "\n";
  std::string feats;
  for (const auto& f : m.value("features", json::array()))
    feats += (feats.empty() ? "" : " ") + (f.is_string() ? f.get<std::string>() : f.dump());
  os << "- features: " << markdown_escape(feats) << "\n";
  const json isas = m.value("isa", json::object());
  for (const auto& [isa, v] : isas.items()) {
    auto it = model.backend_runs.find(isa);
    os << "- " << markdown_escape(isa) << ": "
       << (v.value("runnable", false) ? "runs here" : "skipped, " + markdown_escape(v.value("reason", ""))) << " ("
       << (it == model.backend_runs.end() ? 0 : it->second) << " runs executed)\n";
  }
  const bool expect = model.has_expectations();
  os << "\n" << model.runs << " runs (" << model.passed << " passed, " << model.failed << " failed, " << model.errors
     << " errors, " << model.skipped << " skipped"
     << (expect ? ", " + std::to_string(model.xfail) + " expected failures, " + std::to_string(model.unsupported) +
                      " unsupported"
                : "")
     << (model.outside ? ", " + std::to_string(model.outside) + " outside the contract (differ)" : "")
     << "), " << model.checks << " checks"
     << (model.xfail_checks ? " (+" + std::to_string(model.xfail_checks) + " of expected failures)" : "")
     << (model.outside_checks ? " (+" + std::to_string(model.outside_checks) + " outside the contract)" : "")
     << ", worst margin " << margin_str(model.checks ? model.worst_margin : 0) << ".\n";

  os << "\n## Overview\n\n";
  if (model.overview.empty()) {
    os << "No runs in these results.\n";
  } else {
    // The expectation-list columns appear only when some run has such a verdict (as in index.html).
    if (expect)
      os << "| kernel | backend | runs | passed | failed | errors | expected failures | skipped | unsupported | checks "
            "| worst margin | max ULP |\n|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n";
    else
      os << "| kernel | backend | runs | passed | failed | errors | skipped | checks | worst margin | max ULP |\n"
            "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n";
    for (const auto& s : model.overview) {
      std::string why;
      for (const auto& [reason, n] : s.skip_reasons)
        why += (why.empty() ? " (" : "; ") + (s.skip_reasons.size() > 1 ? std::to_string(n) + ": " : std::string()) +
               markdown_escape(reason);
      if (!why.empty()) why += ")";
      os << "| " << markdown_escape(s.kernel) << " | " << markdown_escape(s.backend) << " | " << s.runs << " | "
         << s.passed << " | " << s.failed << " | " << s.errors
         << (s.first_error.empty() ? "" : " (" + markdown_escape(s.first_error) + ")") << " | "
         << (expect ? std::to_string(s.xfail) + " | " : "") << s.skipped << why << " | "
         << (expect ? std::to_string(s.unsupported) + " | " : "") << s.checks
         << (s.xfail_checks ? " (+" + std::to_string(s.xfail_checks) + " xfail)" : "")
         << (s.outside ? " (+" + std::to_string(s.outside_checks) + " of " + std::to_string(s.outside) +
                             " runs outside the contract)"
                       : "")
         << " | " << (s.checks ? margin_str(s.worst_margin) + " " + margin_words(s.worst_margin) : "-")
         << " | " << (s.checks ? std::to_string(s.max_ulp) : "-") << " |\n";
    }
  }
  os << "\nMargin = observed error / allowed error of the binding contract limit (0 exact, ≤ 1 passes, ≥ 0.9 "
        "passes by a hair, > 1 or inf fails).\n";
  markdown_expected(os, model);
  markdown_outside(os, model, max_failures);
  if (drift) markdown_drift(os, *drift);

  for (const auto& kv : model.kernels) {
    os << "\n## Kernel " << markdown_code(kv.kernel) << "\n\n" << kv.cases.size() << " cases x " << kv.variants.size()
       << " variants on " << kv.backends.size() << " backends; variants:";
    for (const auto& v : kv.variants) os << " " << markdown_code(v);
    os << "\n";
    if (!kv.closest.empty()) {
      os << "\n### Closest to the limit\n\n| case | backends | variant (worst) | output | contract | margin | max ULP |\n"
         << "|---|---|---|---|---|---:|---:|\n";
      for (const auto& row : kv.closest) {
        const CheckRef& c = row.check;
        std::string backends;
        for (const auto& b : row.backends) backends += (backends.empty() ? "" : ", ") + markdown_escape(b);
        os << "| " << markdown_code(c.run->case_id) << " | " << backends << " | "
           << markdown_escape(variant_name(*c.run)) << " | " << markdown_code(c->name) << " | "
           << markdown_code(c->contract) << " | " << margin_str(c->margin) << " | " << c->metrics.max_ulp << " |\n";
      }
    }
    os << "\n### Outputs\n\n| output | backend | contract | passed | cases | worst margin | max abs | max rel | max ULP "
          "| mismatch (max) | min cosine | min SNR dB | worst case |\n"
       << "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n";
    for (const auto& out : kv.outputs)
      for (const auto& b : kv.backends) {
        auto it = kv.groups.find({out, b});
        if (it == kv.groups.end()) continue;
        const OutputGroup& g = it->second;
        std::string contracts;
        for (const auto& c : g.contracts) contracts += (contracts.empty() ? "" : " ") + markdown_code(c);
        os << "| " << markdown_code(out) << " | " << markdown_escape(b) << " | " << contracts << " | "
           << g.checks - g.failed << "/" << g.checks << (g.xfail ? " (+" + std::to_string(g.xfail) + " xfail)" : "")
           << (g.outside ? " (+" + std::to_string(g.outside) + " outside contract)" : "")
           << " | " << g.cases << " | "
           << (g.checks ? margin_str(g.worst_margin) + " " + margin_words(g.worst_margin) : std::string("-")) << " | "
           << (g.checks ? fmt_num(g.max_abs) + " | " + fmt_num(g.max_rel) + " | " + std::to_string(g.max_ulp) + " | " +
                              fmt_ratio(g.max_mismatch_ratio) + " | " + fmt_value(g.min_cosine) + " | " +
                              fmt_num(g.min_snr_db)
                        : std::string("- | - | - | - | - | -"))  // only checks of expected failures
           << " | "
           << (g.worst ? markdown_code(g.worst.run->case_id) + " " + markdown_escape(variant_name(*g.worst.run)) : "")
           << " |\n";
      }
    os << "\n### ULP histograms (elements, summed over cases)\n\n| output | backend |";
    for (int b = 0; b < kUlpBuckets; ++b) os << " " << markdown_escape(ulp_bucket_name(b)) << " |";
    os << "\n|---|---|";
    for (int b = 0; b < kUlpBuckets; ++b) os << "---:|";
    os << "\n";
    for (const auto& out : kv.outputs)
      for (const auto& b : kv.backends) {
        auto it = kv.groups.find({out, b});
        if (it == kv.groups.end()) continue;
        os << "| " << markdown_code(out) << " | " << markdown_escape(b) << " |";
        for (int64_t c : it->second.hist) os << " " << c << " |";
        os << "\n";
      }
    bool any_worst = false;
    for (const auto& out : kv.outputs)
      for (const auto& b : kv.backends) {
        auto it = kv.groups.find({out, b});
        if (it == kv.groups.end() || !it->second.worst) continue;
        const std::vector<WorstElement>& w = it->second.worst->metrics.worst;
        if (w.empty()) continue;
        if (!any_worst) os << "\n### Worst elements (of the worst case per output and backend)\n\n";
        any_worst = true;
        os << "- " << markdown_code(out) << " on " << markdown_escape(b) << ", "
           << markdown_code(it->second.worst.run->case_id) << " "
           << markdown_escape(variant_name(*it->second.worst.run)) << ":";
        for (size_t i = 0; i < w.size() && i < 3; ++i)
          os << (i ? ";" : "") << " " << markdown_escape(fmt_index(w[i].index)) << " expected "
             << fmt_value(w[i].expected) << ", got " << fmt_value(w[i].actual) << " (" << w[i].ulp << " ULP)";
        os << "\n";
      }
    os << "\n### Tile configs (max ULP / worst margin)\n\n| output | variant |";
    for (const auto& b : kv.backends) os << " " << markdown_escape(b) << " |";
    os << "\n|---|---|";
    for (size_t i = 0; i < kv.backends.size(); ++i) os << "---:|";
    os << "\n";
    for (const auto& out : kv.outputs)
      for (const auto& v : kv.variants) {
        std::string row;
        bool any = false;
        for (const auto& b : kv.backends) {
          auto it = kv.tiles.find({out, v, b});
          if (it == kv.tiles.end()) {
            row += " - |";
            continue;
          }
          any = true;
          const Cell& c = it->second;
          std::string apart = c.xfail ? std::to_string(c.xfail) + " xfail" : "";
          if (c.outside) apart += (apart.empty() ? "" : ", ") + std::to_string(c.outside) + " outside contract";
          row += c.checks == 0 ? " " + apart + " |"
                               : " " + std::to_string(c.max_ulp) + " / " + margin_str(c.worst_margin) +
                                     (c.failed ? " (" + std::to_string(c.failed) + " failed)" : "") +
                                     (apart.empty() ? "" : " (+" + apart + ")") + " |";
        }
        if (any) os << "| " << markdown_code(out) << " | " << markdown_escape(v) << " |" << row << "\n";
      }
  }

  if (model.failures.empty()) {
    os << "\nNo failures.\n";
  } else {
    os << "\n## Failures\n\n";
    for (size_t i = 0; i < model.failures.size() && i < max_failures; ++i) {
      const ResultRun& r = *model.failures[i].run;
      os << "- **" << markdown_escape(r.verdict) << "** " << markdown_code(r.case_id) << " on "
         << markdown_escape(r.backend) << " (" << markdown_escape(variant_name(r))
         << "): " << markdown_escape(r.reason) << "  \n";
      for (const CheckResult* c : model.failures[i].checks)
        os << "  " << markdown_code(c->name) << " " << markdown_code(c->contract)
           << " margin " << margin_str(c->margin) << ": " << markdown_escape(c->message)
           << "  \n";
      os << "  repro: " << markdown_code(r.repro) << "\n";
    }
    if (model.failures.size() > max_failures)
      os << "\n... and " << model.failures.size() - max_failures << " more failures (see results.jsonl).\n";
  }
  if (!model.expected_failures.empty()) {
    os << "\n## Expected failures\n\nFailed as the backend's expectation list says (xfail); not counted as "
          "failures.\n\n";
    for (size_t i = 0; i < model.expected_failures.size() && i < max_failures; ++i) {
      const ResultRun& r = *model.expected_failures[i].run;
      os << "- **xfail** " << markdown_code(r.case_id) << " on " << markdown_escape(r.backend)
         << " (" << markdown_escape(variant_name(r)) << "): " << markdown_escape(r.reason) << "  \n"
         << "  repro: " << markdown_code(r.repro) << "\n";
    }
    if (model.expected_failures.size() > max_failures)
      os << "\n... and " << model.expected_failures.size() - max_failures
         << " more expected failures (see results.jsonl).\n";
  }
  return os.str();
}

std::string summary_markdown(const Results& results) { return report_markdown(results, nullptr); }

std::string summary_table(const nlohmann::json& results) { return summary_table(results_from_json(results, "results")); }
std::string report_markdown(const nlohmann::json& results, const DriftReport* drift, size_t max_failures) {
  return report_markdown(results_from_json(results, "results"), drift, max_failures);
}

}  // namespace kcs
