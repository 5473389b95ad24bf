#include "conformance/runner/results_model.h"

#include <cmath>
#include <sstream>
#include <unordered_map>

#include "conformance/runner/json_input.h"
#include "conformance/runner/results.h"
#include "kcs/status.h"

namespace kcs {

using nlohmann::json;

std::string variant_name(const std::string& tile, int threads) {
  return threads == 1 ? tile : tile + " threads=" + std::to_string(threads);
}

std::string run_key(const ResultRun& r) {
  return r.kernel + '\t' + r.case_id + '\t' + r.backend + '\t' + r.tile + '\t' + std::to_string(r.threads);
}

bool verdict_fails(const std::string& v) {
  return v != "passed" && v != "skipped" && v != "unsupported" && v != "xfail" && v != kOutsideContractDiffers;
}

bool verdict_counted_apart(const std::string& v) { return v == "xfail" || v == kOutsideContractDiffers; }

bool verdict_is_error(const std::string& v) { return verdict_fails(v) && v != "failed"; }

double margin_rank(double margin) { return std::isnan(margin) ? INFINITY : margin; }

bool check_worse(const CheckResult& a, const CheckResult& b) {
  const double ma = margin_rank(a.margin), mb = margin_rank(b.margin);
  if (ma != mb) return ma > mb;
  if (a.metrics.max_ulp != b.metrics.max_ulp) return a.metrics.max_ulp > b.metrics.max_ulp;
  const double x = a.metrics.max_abs, y = b.metrics.max_abs;
  if (std::isnan(y)) return false;
  if (std::isnan(x)) return true;
  return x > y;
}

namespace {

// The kernel of a case id is its first dot-separated component; a record leaves it out then.
std::string kernel_of(const std::string& case_id) { return case_id.substr(0, case_id.find('.')); }

std::string str(const json& j, const char* key, const std::string& what, bool required = false) {
  if (!j.contains(key)) {
    if (required) throw Error(what + ": a record lacks the field '" + key + "'");
    return {};
  }
  if (!j.at(key).is_string()) throw Error(what + ": field '" + key + "' is not a string");
  return j.at(key).get<std::string>();
}

int64_t integer(const json& j, const char* key, int64_t fallback, const std::string& what) {
  if (!j.contains(key)) return fallback;
  const json& v = j.at(key);
  if (!v.is_number_integer()) throw Error(what + ": field '" + key + "' is not an integer");
  return v.get<int64_t>();
}

double real(const json& j, const char* key, double fallback) {
  if (!j.is_object() || !j.contains(key)) return fallback;
  return json_to_double(j.at(key));
}

// Compact metrics: the worst elements and the worst row are left out, and so is every field at its
// default; the histogram is an array of bucket counts without trailing zeros.
json compact_metrics_json(const Metrics& m) {
  const Metrics d;
  json j = json::object();
  if (m.numel != d.numel) j["numel"] = m.numel;
  if (m.mismatches != d.mismatches) j["mismatches"] = m.mismatches;
  if (!(m.mismatch_ratio == d.mismatch_ratio)) j["mismatch_ratio"] = json_number(m.mismatch_ratio);
  if (!(m.max_abs == d.max_abs)) j["max_abs"] = json_number(m.max_abs);
  if (!(m.max_rel == d.max_rel)) j["max_rel"] = json_number(m.max_rel);
  if (m.max_ulp != d.max_ulp) j["max_ulp"] = m.max_ulp;
  if (!(m.cosine == d.cosine)) j["cosine"] = json_number(m.cosine);
  if (!(m.snr_db == d.snr_db)) j["snr_db"] = json_number(m.snr_db);
  size_t n = m.ulp_hist.size();
  while (n > 0 && m.ulp_hist[n - 1] == 0) --n;
  if (n) j["ulp_hist"] = json(std::vector<int64_t>(m.ulp_hist.begin(), m.ulp_hist.begin() + static_cast<long>(n)));
  return j;
}

Metrics metrics_from(const json& j, const std::string& what) {
  Metrics m;
  if (!j.is_object()) throw Error(what + ": 'metrics' is not an object");
  m.numel = integer(j, "numel", m.numel, what);
  m.mismatches = integer(j, "mismatches", m.mismatches, what);
  m.mismatch_ratio = real(j, "mismatch_ratio", m.mismatch_ratio);
  m.max_abs = real(j, "max_abs", m.max_abs);
  m.max_rel = real(j, "max_rel", m.max_rel);
  m.max_ulp = integer(j, "max_ulp", m.max_ulp, what);
  m.cosine = real(j, "cosine", m.cosine);
  m.snr_db = real(j, "snr_db", m.snr_db);
  m.worst_row = integer(j, "worst_row", m.worst_row, what);
  m.worst_row_max_ulp = integer(j, "worst_row_max_ulp", m.worst_row_max_ulp, what);
  if (j.contains("ulp_hist")) {
    const json& h = j.at("ulp_hist");
    if (h.is_array()) {
      if (h.size() > static_cast<size_t>(kUlpBuckets)) throw Error(what + ": 'ulp_hist' has too many buckets");
      for (size_t i = 0; i < h.size(); ++i) {
        if (!h[i].is_number_integer()) throw Error(what + ": 'ulp_hist' holds a non-integer");
        m.ulp_hist[i] = h[i].get<int64_t>();
      }
    } else if (h.is_object()) {
      for (int b = 0; b < kUlpBuckets; ++b) m.ulp_hist[static_cast<size_t>(b)] = integer(h, ulp_bucket_name(b), 0, what);
    } else {
      throw Error(what + ": 'ulp_hist' is neither an array nor an object");
    }
  }
  if (j.contains("worst")) {
    if (!j.at("worst").is_array()) throw Error(what + ": 'worst' is not an array");
    for (const auto& w : j.at("worst")) {
      if (!w.is_object()) throw Error(what + ": a worst element is not an object");
      WorstElement e;
      if (w.contains("index")) {
        if (!w.at("index").is_array()) throw Error(what + ": a worst element's 'index' is not an array");
        for (const auto& i : w.at("index")) {
          if (!i.is_number_integer()) throw Error(what + ": a worst element's index is not an integer");
          e.index.push_back(i.get<int64_t>());
        }
      }
      e.expected = real(w, "expected", 0);
      e.actual = real(w, "actual", 0);
      e.abs_err = real(w, "abs_err", 0);
      e.ulp = integer(w, "ulp", 0, what);
      e.prerounding = real(w, "prerounding", e.prerounding);
      e.amax = real(w, "amax", e.amax);
      e.input = real(w, "input", e.input);
      m.worst.push_back(std::move(e));
    }
  }
  return m;
}

std::vector<std::string> string_list(const json& j, const char* key, const std::string& what) {
  std::vector<std::string> out;
  if (!j.contains(key)) return out;
  if (!j.at(key).is_array()) throw Error(what + ": '" + key + "' is not an array");
  for (const auto& s : j.at(key)) {
    if (!s.is_string()) throw Error(what + ": '" + key + "' holds a non-string");
    out.push_back(s.get<std::string>());
  }
  return out;
}

}  // namespace

json checks_json(const ResultRun& r, const std::vector<bool>& full) {
  json checks = json::array();
  for (size_t i = 0; i < r.checks.size(); ++i) {
    const CheckResult& c = r.checks[i];
    json cj = {{"output", c.name}, {"contract", c.contract}};
    if (!c.passed) cj["failed"] = true;
    if (c.margin != 0 || std::isnan(c.margin)) cj["margin"] = json_number(c.margin);
    if (!c.message.empty()) cj["message"] = c.message;
    if (!c.diagnosis.empty()) cj["diagnosis"] = c.diagnosis;
    const bool f = !c.passed || (i < full.size() && full[i]);
    cj["metrics"] = f ? metrics_json(c.metrics) : compact_metrics_json(c.metrics);
    checks.push_back(std::move(cj));
  }
  return checks;
}

json run_line(const ResultRun& r, const std::vector<bool>& full, int64_t same_as) {
  json j = json::object();
  if (r.kernel != kernel_of(r.case_id)) j["kernel"] = r.kernel;
  j["case"] = r.case_id;
  j["backend"] = r.backend;
  j["tile"] = r.tile;
  if (r.threads != 1) j["threads"] = r.threads;
  j["verdict"] = r.verdict;
  if (!r.reason.empty()) j["reason"] = r.reason;
  if (r.repro != repro_command(r.case_id, r.backend, r.tile, r.threads)) j["repro"] = r.repro;
  // A tenth of a millisecond is enough for timing and keeps the line short.
  j["seconds"] = std::round(r.seconds * 1e4) / 1e4;
  if (same_as >= 0)
    j["same_as"] = same_as;
  else if (!r.checks.empty())
    j["checks"] = checks_json(r, full);
  return j;
}

ResultRun run_from_line(const json& j, const std::string& what, const std::vector<ResultRun>& earlier) {
  if (!j.is_object()) throw Error(what + ": a run record is not an object");
  ResultRun r;
  r.case_id = str(j, "case", what, true);
  r.kernel = j.contains("kernel") ? str(j, "kernel", what) : kernel_of(r.case_id);
  r.backend = str(j, "backend", what, true);
  r.tile = str(j, "tile", what, true);
  r.verdict = str(j, "verdict", what, true);
  const int64_t threads = integer(j, "threads", 1, what);
  if (threads < 1 || threads > 1 << 20) throw Error(what + ": 'threads' out of range");
  r.threads = static_cast<int>(threads);
  r.reason = str(j, "reason", what);
  r.repro = j.contains("repro") ? str(j, "repro", what) : repro_command(r.case_id, r.backend, r.tile, r.threads);
  r.seconds = real(j, "seconds", 0);
  if (j.contains("same_as")) {
    const int64_t i = integer(j, "same_as", -1, what);
    if (i < 0 || i >= static_cast<int64_t>(earlier.size()) || earlier[static_cast<size_t>(i)].case_id != r.case_id)
      throw Error(what + ": 'same_as' " + std::to_string(i) + " does not name an earlier run of case " + r.case_id);
    // The checks of that run as its compact record would carry them.
    r.checks = earlier[static_cast<size_t>(i)].checks;
    for (CheckResult& c : r.checks) {
      c.metrics.worst.clear();
      c.metrics.worst_row = Metrics{}.worst_row;
      c.metrics.worst_row_max_ulp = Metrics{}.worst_row_max_ulp;
    }
    r.full.assign(r.checks.size(), false);
  } else if (j.contains("checks")) {
    if (!j.at("checks").is_array()) throw Error(what + ": 'checks' is not an array");
    if (j.at("checks").size() > kMaxChecksPerRun)
      throw Error(what + ": a run with more than " + std::to_string(kMaxChecksPerRun) + " checks");
    for (const auto& cj : j.at("checks")) {
      if (!cj.is_object()) throw Error(what + ": a check is not an object");
      CheckResult c;
      c.name = str(cj, "output", what, true);
      c.contract = str(cj, "contract", what);
      if (cj.contains("failed") && !cj.at("failed").is_boolean()) throw Error(what + ": 'failed' is not a boolean");
      c.passed = !cj.value("failed", false);
      c.margin = real(cj, "margin", 0);
      c.message = str(cj, "message", what);
      c.diagnosis = str(cj, "diagnosis", what);
      const json& mj = cj.contains("metrics") ? cj.at("metrics") : json::object();
      c.metrics = metrics_from(mj, what);
      r.full.push_back(mj.contains("worst"));
      r.checks.push_back(std::move(c));
    }
  }
  return r;
}

json header_line(const ResultsHeader& h) {
  json j = {{"kcs_results", kResultsLinesSchema},
            {"kcs_version", h.kcs_version},
            {"spec_version", h.spec_version},
            {"compiler", h.compiler},
            {"date", h.date},
            {"tier", h.tier},
            {"command", h.command},
            {"machine", h.machine},
            {"shard", {h.shard_index, h.shard_count}},
            {"backends", h.backends},
            {"planned", h.planned}};
  if (!h.sources.empty()) j["sources"] = h.sources;
  return j;
}

ResultsHeader header_from_line(const json& j, const std::string& what) {
  if (!j.is_object() || !j.contains("kcs_results")) throw Error(what + " does not start with a kcs results header");
  if (j.at("kcs_results") != kResultsLinesSchema)
    throw Error(what + " has results schema " + j.at("kcs_results").dump() + ", this kcs reads schema " +
                std::to_string(kResultsLinesSchema) + " (and schema 1 files)");
  ResultsHeader h;
  h.kcs_version = str(j, "kcs_version", what);
  h.spec_version = str(j, "spec_version", what);
  h.compiler = str(j, "compiler", what);
  h.date = str(j, "date", what);
  h.tier = str(j, "tier", what);
  h.command = str(j, "command", what);
  if (j.contains("machine")) {
    if (!j.at("machine").is_object()) throw Error(what + ": 'machine' is not an object");
    h.machine = j.at("machine");
  }
  if (j.contains("shard")) {
    const json& s = j.at("shard");
    if (!s.is_array() || s.size() != 2 || !s[0].is_number_integer() || !s[1].is_number_integer())
      throw Error(what + ": 'shard' is not [I, N]");
    const int64_t i = s[0].get<int64_t>(), n = s[1].get<int64_t>();
    if (n < 1 || n > 1 << 20 || i < 0 || i >= n) throw Error(what + ": 'shard' " + s.dump() + " is not a shard I/N");
    h.shard_index = static_cast<int>(i);
    h.shard_count = static_cast<int>(n);
  }
  h.backends = string_list(j, "backends", what);
  h.planned = string_list(j, "planned", what);
  h.sources = string_list(j, "sources", what);
  h.complete = false;  // until the end line is read
  return h;
}

Results results_from_json(const json& j, const std::string& what) {
  if (!j.is_object()) throw Error(what + " is not a kcs results file (not a JSON object)");
  if (!j.contains("schema")) throw Error(what + " is not a kcs results file (no 'schema')");
  if (j.at("schema") != 1)
    throw Error(what + " has results schema " + j.at("schema").dump() + ", this kcs reads schema 1 and " +
                std::to_string(kResultsLinesSchema));
  for (const char* key : {"runs", "results"})
    if (!j.contains(key) || !j.at(key).is_array())
      throw Error(what + " is not a kcs results file (no '" + key + "' array)");
  Results out;
  ResultsHeader& h = out.header;
  for (auto [field, key] : {std::pair{&h.kcs_version, "kcs_version"}, {&h.spec_version, "spec_version"},
                            {&h.compiler, "compiler"}, {&h.date, "date"}, {&h.tier, "tier"}, {&h.command, "command"}})
    if (j.contains(key) && j.at(key).is_string()) *field = j.at(key).get<std::string>();
  if (j.contains("machine") && j.at("machine").is_object()) h.machine = j.at("machine");
  auto require = [&](const json& r, std::initializer_list<const char*> keys, const char* kind) {
    for (const char* key : keys)
      if (!r.is_object() || !r.contains(key) || !r.at(key).is_string())
        throw Error(what + ": a " + kind + " lacks the string field '" + key + "'");
  };
  auto threads_of = [&](const json& r) {
    const json& t = r.contains("threads") ? r.at("threads") : json(1);
    if (!t.is_number_integer() || t.get<int64_t>() < 1 || t.get<int64_t>() > 1 << 20)
      throw Error(what + ": 'threads' is not a positive integer");
    return static_cast<int>(t.get<int64_t>());
  };
  std::unordered_map<std::string, size_t> index;
  for (const auto& rj : j.at("runs")) {
    require(rj, {"kernel", "case", "backend", "tile", "verdict"}, "run");
    ResultRun r;
    r.kernel = rj.at("kernel");
    r.case_id = rj.at("case");
    r.backend = rj.at("backend");
    r.tile = rj.at("tile");
    r.threads = threads_of(rj);
    r.verdict = rj.at("verdict");
    r.reason = str(rj, "reason", what);
    r.repro = str(rj, "repro", what);
    r.seconds = real(rj, "seconds", 0);
    index[run_key(r)] = out.runs.size();
    out.runs.push_back(std::move(r));
  }
  for (const auto& cj : j.at("results")) {
    require(cj, {"kernel", "case", "backend", "tile", "output", "verdict"}, "result");
    ResultRun key;
    key.kernel = cj.at("kernel");
    key.case_id = cj.at("case");
    key.backend = cj.at("backend");
    key.tile = cj.at("tile");
    key.threads = threads_of(cj);
    auto it = index.find(run_key(key));
    if (it == index.end()) {
      key.listed = false;
      key.repro = str(cj, "repro", what);
      it = index.emplace(run_key(key), out.runs.size()).first;
      out.runs.push_back(std::move(key));
    }
    CheckResult c;
    c.name = cj.at("output");
    c.contract = str(cj, "contract", what);
    c.passed = cj.at("verdict") == "passed";
    c.margin = real(cj, "margin", 0);
    c.message = str(cj, "message", what);
    if (cj.contains("metrics")) c.metrics = metrics_from(cj.at("metrics"), what);
    ResultRun& r = out.runs[it->second];
    r.checks.push_back(std::move(c));
    r.full.push_back(true);
  }
  return out;
}

bool is_results_lines(const std::string& text) {
  // A schema-1 file is one object over many lines (or one line without a kcs_results key).
  if (text.rfind("{\"", 0) != 0) return false;
  const size_t end = text.find('\n');
  try {
    const json first = parse_json_bounded(std::string_view(text).substr(0, end), "header");
    return first.is_object() && first.contains("kcs_results");
  } catch (const Error&) {
    return false;
  }
}

Results parse_results_text(const std::string& text, const std::string& what, size_t max_checks) {
  if (!is_results_lines(text)) return results_from_json(parse_json_bounded(text, what), what);
  Results out;
  size_t pos = 0, line_no = 0, checks = 0;
  bool ended = false;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    const bool cut = nl == std::string::npos;
    if (cut) nl = text.size();
    const std::string_view line(text.data() + pos, nl - pos);
    pos = nl + 1;
    ++line_no;
    if (line.empty()) continue;
    const std::string where = what + " line " + std::to_string(line_no);
    if (ended) throw Error(where + ": a record after the end line");
    json j;
    try {
      j = parse_json_bounded(line, where);
    } catch (const Error&) {
      if (cut && line_no > 1) break;  // a writer killed mid-line: the run was not finished
      throw;
    }
    if (line_no == 1) {
      out.header = header_from_line(j, what);
    } else if (j.is_object() && j.contains("end")) {
      const json& e = j.at("end");
      if (!e.is_object() || !e.contains("runs") || !e.at("runs").is_number_integer())
        throw Error(where + ": malformed end line");
      if (e.at("runs").get<int64_t>() != static_cast<int64_t>(out.runs.size()))
        throw Error(where + ": the end line counts " + e.at("runs").dump() + " runs, the file holds " +
                    std::to_string(out.runs.size()));
      ended = true;
    } else {
      out.runs.push_back(run_from_line(j, where, out.runs));
      // "same_as" copies checks: bound what a small hostile file can expand to.
      checks += out.runs.back().checks.size();
      if (checks > max_checks)
        throw Error(where + ": more than " + std::to_string(max_checks) + " checks in one results file");
    }
  }
  out.header.complete = ended;
  return out;
}

Results read_results_file(const std::string& path) {
  return parse_results_text(read_text_file_bounded(path, JsonLimits{}.max_bytes), path);
}

}  // namespace kcs
