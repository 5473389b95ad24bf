#include "conformance/runner/expectations.h"

#include "conformance/runner/catalog.h"
#include "conformance/runner/results.h"

namespace kcs {

std::string Expectation::describe() const {
  return std::string(verdict_name(expect)) + " " + case_pattern + (backend_pattern == "*" ? "" : " on " + backend_pattern) +
         ": " + reason + (link.empty() ? "" : " (" + link + ")");
}

Expectation* Expectations::find(const std::string& case_id, const std::string& backend) {
  for (auto& e : entries)
    if (glob_match(e.case_pattern, case_id) && glob_match(e.backend_pattern, backend)) return &e;
  return nullptr;
}

Expectations parse_expectations(const nlohmann::json& j, const std::string& source) {
  Expectations out;
  out.source = source;
  if (!j.is_object()) throw Error(source + ": an expectations file is a JSON object");
  for (const auto& [k, v] : j.items())
    if (k != "kcs_expectations" && k != "backend" && k != "entries" && k != "comment")
      throw Error(source + ": unknown key '" + k + "' (kcs_expectations, backend, entries, comment)");
  if (j.value("kcs_expectations", 0) != 1) throw Error(source + ": want \"kcs_expectations\": 1");
  std::string backend = "*";
  if (j.contains("backend")) {
    if (!j.at("backend").is_string()) throw Error(source + ": 'backend' must be a string");
    backend = j.at("backend").get<std::string>();
  }
  if (!j.contains("entries") || !j.at("entries").is_array()) throw Error(source + ": no 'entries' array");
  int i = 0;
  for (const auto& e : j.at("entries")) {
    const std::string where = source + ": entry " + std::to_string(i++);
    if (!e.is_object()) throw Error(where + " is not an object");
    for (const auto& [k, v] : e.items()) {
      if (k != "case" && k != "backend" && k != "expect" && k != "reason" && k != "link")
        throw Error(where + ": unknown key '" + k + "' (case, backend, expect, reason, link)");
      if (!v.is_string()) throw Error(where + ": '" + k + "' must be a string");
    }
    Expectation x;
    x.case_pattern = e.value("case", "");
    if (x.case_pattern.empty()) throw Error(where + " has no 'case' pattern");
    const std::string at = where + " (" + x.case_pattern + ")";
    x.backend_pattern = e.value("backend", backend);
    const std::string expect = e.value("expect", "");
    if (expect == "xfail")
      x.expect = Verdict::xfail;
    else if (expect == "unsupported")
      x.expect = Verdict::unsupported;
    else
      throw Error(at + ": 'expect' must be \"xfail\" or \"unsupported\", got '" + expect + "'");
    x.reason = e.value("reason", "");
    if (x.reason.find_first_not_of(" \t\n") == std::string::npos)
      throw Error(at + " has no 'reason': every expected failure or opt-out must say why");
    x.link = e.value("link", "");
    out.entries.push_back(std::move(x));
  }
  return out;
}

Expectations load_expectations(const std::string& path) { return parse_expectations(read_json_file(path), path); }

RunRecord unsupported_record(const Expectation& e, const CaseSpec& cs, const std::string& backend,
                             const std::string& tile, int threads) {
  RunRecord r;
  r.kernel = cs.problem.kernel;
  r.case_id = cs.id;
  r.backend = backend;
  r.tile = tile;
  r.threads = threads;
  r.repro = repro_command(cs.id, backend, tile, threads);
  r.verdict = Verdict::unsupported;
  r.reason = e.reason + (e.link.empty() ? "" : " (" + e.link + ")");
  return r;
}

void apply_xfail(const Expectation& e, const std::string& source, RunRecord& r) {
  const std::string why = e.reason + (e.link.empty() ? "" : " (" + e.link + ")");
  if (r.verdict == Verdict::failed || r.verdict == Verdict::error || r.verdict == Verdict::outside_contract_differs) {
    r.verdict = Verdict::xfail;
    r.reason = "expected failure: " + why + "; observed: " + r.reason;
  } else if (r.verdict == Verdict::passed) {
    r.verdict = Verdict::failed;
    r.reason = "unexpected pass: expected to fail (" + why + "); remove the entry '" + e.case_pattern + "' from " +
               source;
  }
}

}  // namespace kcs
