// The mutation score as a self-contained HTML page (kcs selftest --mutants --html FILE).
#include <fstream>

#include "conformance/mutants/mutants.h"

namespace kcs {

namespace {

std::string esc(const std::string& s) {
  std::string o;
  for (char c : s) {
    switch (c) {
      case '<': o += "&lt;"; break;
      case '>': o += "&gt;"; break;
      case '&': o += "&amp;"; break;
      case '"': o += "&quot;"; break;
      default: o += c;
    }
  }
  return o;
}

const char* outcome_name(MutantResult::Outcome o) {
  using O = MutantResult::Outcome;
  switch (o) {
    case O::caught: return "caught";
    case O::escaped: return "ESCAPED";
    case O::known_escape: return "known escape";
    case O::equivalent: return "equivalent";
    case O::undetectable: return "undetectable within the contract";
    case O::control_passed: return "control passed";
    case O::control_failed: return "CONTROL FAILED";
    case O::stale: return "STALE (caught but listed as equivalent / undetectable)";
  }
  return "?";
}

}  // namespace

void write_mutants_html(const std::string& path, const std::vector<MutantScoreRow>& rows,
                        const std::vector<MutantResult>& results, const std::vector<std::string>& stale) {
  std::ofstream f(path);
  if (!f) throw Error("cannot write " + path);
  f << "<!doctype html><html><head><meta charset=\"utf-8\"><title>kcs mutation score</title><style>"
       "body{font:14px sans-serif;margin:1.5em}table{border-collapse:collapse}td,th{border:1px solid #ccc;"
       "padding:2px 6px;text-align:left;vertical-align:top}td.n{text-align:right}.bad{color:#b00}.ok{color:#070}"
       ".k{color:#a60}</style></head><body><h1>Semantic mutants</h1>\n<table><tr><th>kernel</th><th>mutants</th>"
       "<th>caught</th><th>escaped</th><th>known</th><th>equivalent</th><th title=\"a difference a correct backend may "
       "also produce within the contract\">undetectable</th><th>controls passed</th></tr>\n";
  for (const auto& r : rows)
    f << "<tr><td>" << esc(r.kernel) << "</td><td class=n>" << r.mutants << "</td><td class=n>" << r.caught
      << "</td><td class=\"n" << (r.escaped > r.known ? " bad" : "") << "\">" << r.escaped << "</td><td class=n>"
      << r.known << "</td><td class=n>" << r.equivalent << "</td><td class=n>" << r.undetectable << "</td><td class=\"n"
      << (r.controls_passed < r.controls ? " bad" : "") << "\">" << r.controls_passed << "/" << r.controls
      << "</td></tr>\n";
  f << "</table>\n";
  if (!stale.empty()) {
    f << "<h2 class=bad>Stale entries of conformance/mutants/known.cc</h2><ul>\n";
    for (const auto& s : stale) f << "<li>" << esc(s) << "</li>\n";
    f << "</ul>\n";
  }
  f << "<h2>Every mutant</h2><table><tr><th>kernel</th><th>mutant</th><th>what</th><th>outcome</th>"
       "<th>case</th><th>message / reason</th><th>diagnosis</th></tr>\n";
  for (const auto& r : results) {
    using O = MutantResult::Outcome;
    const char* cls = r.outcome == O::caught || r.outcome == O::control_passed ? "ok"
                      : r.outcome == O::known_escape || r.outcome == O::equivalent || r.outcome == O::undetectable
                          ? "k"
                                                                                    : "bad";
    f << "<tr><td>" << esc(r.mutant.kernel) << "</td><td>" << esc(r.mutant.name) << "</td><td>" << esc(r.mutant.what)
      << "</td><td class=" << cls << ">" << outcome_name(r.outcome) << "</td><td>" << esc(r.case_id) << "</td><td>"
      << esc(r.message) << "</td><td>" << esc(r.diagnosis) << (r.across.empty() ? "" : "<br>" + esc(r.across))
      << "</td></tr>\n";
  }
  f << "</table></body></html>\n";
  if (!f) throw Error("cannot write " + path);
}

}  // namespace kcs
