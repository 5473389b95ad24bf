#include "reports/baseline.h"

#include <cmath>
#include <map>
#include <set>
#include <sstream>
#include <tuple>

#include "conformance/runner/results.h"
#include "kcs/status.h"
#include "reports/model.h"

namespace kcs {

using nlohmann::json;

namespace {

constexpr const char* kFormat = "kcs-baseline";

struct Out {
  std::string contract, verdict;
  int64_t max_ulp = 0;
  double mismatch_ratio = 0, margin = 0;
};

// Verdicts of a backend's expectation list (kcs run --expect) take part in the comparison as what
// they are, not as what the list excuses: a baseline records what a backend achieved, and a list
// written later must not hide a regression against it (kcs run already enforces the list itself,
// an unexpected pass fails there).
//   xfail        the run happened: its outputs are compared like a failed run's (a check that passed
//                in the baseline and fails now is a new failure, a known failure that got worse is
//                drift). An xfail without outputs failed with an error and compares like an error.
//   outside_contract_differs  the run happened on a case outside the kernel's contract: compared
//                like xfail (a backend that matched the reference there and now differs has drifted).
//   unsupported  the run did not happen: like skipped (a variant that ran in the baseline and is now
//                unsupported is drift; one that was unsupported and now runs is an improvement).
struct Run {
  std::string verdict, reason;
  std::map<std::string, Out> outputs;
  bool ran() const {
    return verdict == "passed" || verdict == "failed" ||
           ((verdict == "xfail" || verdict == kOutsideContractDiffers) && !outputs.empty());
  }
  bool errored() const { return verdict_is_error(verdict) || (verdict == "xfail" && outputs.empty()); }
};

using Key = std::tuple<std::string, std::string, std::string, std::string>;  // kernel, case, backend, variant

// The common form of both inputs: every run with its outputs, and the provenance fields.
struct Norm {
  std::string tier, optimized_isa, cpu, date, kcs_version, spec_version, compiler;
  std::map<Key, Run> runs;
};

// The contract is left out when it is the kernel's usual one for the output, and the verdict when
// it passed: most entries then carry only the three numbers drift is judged on.
json out_json(const Out& o, const std::string& usual_contract) {
  json j = {{"max_ulp", o.max_ulp}, {"mismatch_ratio", json_number(o.mismatch_ratio)}, {"margin", json_number(o.margin)}};
  if (o.contract != usual_contract) j["contract"] = o.contract;
  if (o.verdict != "passed") j["verdict"] = o.verdict;
  return j;
}

Out out_from(const CheckResult& c) {
  Out o;
  o.contract = c.contract;
  o.verdict = c.passed ? "passed" : "failed";
  o.max_ulp = c.metrics.max_ulp;
  o.mismatch_ratio = c.metrics.mismatch_ratio;
  o.margin = margin_rank(c.margin);  // an unjudgeable check ranks with the worst
  return o;
}

Out out_from(const json& j, const json& metrics) {
  Out o;
  o.contract = j.value("contract", "");
  o.verdict = j.value("verdict", "");
  o.max_ulp = metrics.value("max_ulp", int64_t{0});
  o.mismatch_ratio = number(metrics, "mismatch_ratio");
  o.margin = number(j, "margin");
  if (std::isnan(o.margin)) o.margin = INFINITY;  // an unjudgeable check ranks with the worst
  return o;
}

Norm normalize(const Results& r) {
  Norm n;
  const ResultsHeader& h = r.header;
  n.tier = h.tier;
  n.kcs_version = h.kcs_version;
  n.spec_version = h.spec_version;
  n.compiler = h.compiler;
  n.date = h.date;
  n.optimized_isa = optimized_isa(h.machine);
  n.cpu = h.machine.value("cpu", "");
  for (const ResultRun& run : r.runs) {
    Run& out = n.runs[{run.kernel, run.case_id, run.backend, variant_name(run)}];
    if (run.listed) {
      out.verdict = run.verdict;
      out.reason = run.reason;
    }
    for (const CheckResult& c : run.checks) out.outputs[c.name] = out_from(c);
  }
  return n;
}

Norm normalize(const json& j, const std::string& what) {
  if (!is_baseline(j)) return normalize(results_from_json(j, what));
  Norm n;
  n.tier = j.value("tier", "");
  n.kcs_version = j.value("kcs_version", "");
  n.spec_version = j.value("spec_version", "");
  n.compiler = j.value("compiler", "");
  n.date = j.value("date", "");
  if (is_baseline(j)) {
    if (j.value("version", 0) != kBaselineVersion)
      throw Error(what + " is a baseline of version " + j.value("version", json()).dump() + ", this kcs reads version " +
                  std::to_string(kBaselineVersion));
    n.optimized_isa = j.value("optimized_isa", "none");
    n.cpu = j.value("cpu", "");
    if (!j.contains("entries") || !j.at("entries").is_array()) throw Error(what + ": baseline without 'entries'");
    const json contracts = j.value("contracts", json::object()), all_variants = j.value("variants", json::object());
    for (const auto& e : j.at("entries")) {
      const std::string kernel = e.value("kernel", "");
      const json usual = contracts.value(kernel, json::object());
      Run r;
      r.verdict = e.value("verdict", "");
      r.reason = e.value("reason", "");
      if (e.contains("outputs"))
        for (const auto& [name, o] : e.at("outputs").items()) {
          Out& out = r.outputs[name] = out_from(o, o);
          if (!o.contains("contract")) out.contract = usual.value(name, "");
          if (!o.contains("verdict")) out.verdict = "passed";
        }
      // "*": every variant the baseline ran for this kernel.
      const json vars = e.value("variants", json::array());
      for (const auto& b : e.value("backends", json::array()))
        for (const auto& v : vars.is_string() && vars == "*" ? all_variants.value(kernel, json::array()) : vars)
          n.runs[{kernel, e.value("case", ""), b.get<std::string>(), v.get<std::string>()}] = r;
    }
    return n;
  }
  return n;
}

// Strictly worse, with a relative slack for decimal round trips of the JSON writer.
bool worse(double now, double before) {
  if (std::isnan(before)) return false;
  if (std::isnan(now)) return true;
  if (std::isinf(now) || std::isinf(before)) return now > before;
  return now > before + 1e-12 * std::max(1.0, std::fabs(before));
}

std::string change(const char* what, const std::string& a, const std::string& b) {
  return std::string(what) + " " + a + " -> " + b;
}

std::string join(const std::vector<std::string>& v, const char* sep = ", ") {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : sep) + x;
  return s;
}

}  // namespace

std::string DriftItem::line() const {
  std::string s = kind + ":";
  if (!case_id.empty()) s += " " + case_id;
  else if (!kernel.empty()) s += " " + kernel;
  if (!backend.empty()) s += " " + backend;
  if (!variant.empty()) s += " " + variant;
  if (!output.empty()) s += " " + output;
  if (!detail.empty()) s += ": " + detail;
  return s;
}

bool is_baseline(const json& j) { return j.is_object() && j.value("format", "") == kFormat; }

json make_baseline(const json& results) { return make_baseline(results_from_json(results, "results")); }

json make_baseline(const Results& results) {
  const Norm n = normalize(results);
  json b;
  b["format"] = kFormat;
  b["version"] = kBaselineVersion;
  b["tier"] = n.tier;
  b["kcs_version"] = n.kcs_version;
  b["spec_version"] = n.spec_version;
  b["compiler"] = n.compiler;
  b["date"] = n.date;
  b["cpu"] = n.cpu;
  b["optimized_isa"] = n.optimized_isa;
  b["source_command"] = results.header.command;
  std::set<std::string> backends;
  // Per kernel: every variant, and the usual contract of each output (the first one seen).
  std::map<std::string, std::set<std::string>> variants;
  json contracts = json::object();
  for (const auto& [key, run] : n.runs) {
    variants[std::get<0>(key)].insert(std::get<3>(key));
    for (const auto& [name, o] : run.outputs)
      if (!contracts[std::get<0>(key)].contains(name)) contracts[std::get<0>(key)][name] = o.contract;
  }
  // Group the variants of one kernel x case x backend whose outcome is identical.
  std::map<std::tuple<std::string, std::string, std::string>, std::vector<std::pair<json, std::vector<std::string>>>>
      groups;
  for (const auto& [key, run] : n.runs) {
    const auto& [kernel, cs, backend, variant] = key;
    backends.insert(backend);
    json payload = {{"verdict", run.verdict}};
    if (!run.reason.empty() && !run.ran()) payload["reason"] = run.reason;
    json outs = json::object();
    for (const auto& [name, o] : run.outputs) outs[name] = out_json(o, contracts[kernel].value(name, ""));
    payload["outputs"] = outs;
    auto& g = groups[{kernel, cs, backend}];
    bool placed = false;
    for (auto& [p, vars] : g)
      if (p == payload) {
        vars.push_back(variant);
        placed = true;
        break;
      }
    if (!placed) g.push_back({payload, {variant}});
  }
  b["backends"] = backends;
  b["variants"] = variants;
  b["contracts"] = contracts;
  // Backends with the same outcome on the same variants share an entry (reference and optimized
  // usually agree bit for bit).
  std::map<std::tuple<std::string, std::string, std::string>, std::vector<std::string>> shared;
  std::vector<std::tuple<std::string, std::string, std::string>> order;
  std::map<std::tuple<std::string, std::string, std::string>, json> content;
  for (const auto& [key, g] : groups)
    for (const auto& [payload, vars] : g) {
      const auto& all = variants[std::get<0>(key)];
      const bool every = vars.size() == all.size();  // variants are distinct, so equal size = all of them
      json e = {{"kernel", std::get<0>(key)}, {"case", std::get<1>(key)}, {"variants", every ? json("*") : json(vars)}};
      e.update(payload);
      const std::tuple<std::string, std::string, std::string> k{std::get<0>(key), std::get<1>(key), e.dump()};
      if (!shared.count(k)) {
        order.push_back(k);
        content[k] = e;
      }
      shared[k].push_back(std::get<2>(key));
    }
  json entries = json::array();
  for (const auto& k : order) {
    json e = content[k];
    e["backends"] = shared[k];
    entries.push_back(e);
  }
  b["entries"] = entries;
  return b;
}

std::string baseline_text(const json& baseline) {
  std::ostringstream os;
  os << "{\n";
  for (const auto& [k, v] : baseline.items())
    if (k != "entries") os << " " << json(k).dump() << ": " << v.dump() << ",\n";
  os << " \"entries\": [";
  const json& e = baseline.at("entries");
  for (size_t i = 0; i < e.size(); ++i) os << (i ? ",\n  " : "\n  ") << e[i].dump();
  os << "\n ]\n}\n";
  return os.str();
}

namespace {

DriftReport compare(const Norm& base, const Norm& cur) {
  if (base.tier != cur.tier)
    throw Error("the baseline is of tier '" + base.tier + "' and the results of tier '" + cur.tier +
                "': compare runs of the same tier");
  DriftReport d;
  d.notes.push_back("baseline: tier " + base.tier + ", " + base.date + ", " + base.cpu + ", kcs " + base.kcs_version +
                    ", spec " + base.spec_version + ", " + base.compiler + " (machine and date are informational)");
  // amx is the avx512 kernels plus tile rows proven to give their bits (integer-exact products,
  // AmxAgreesBitwise), so either baseline is checked strictly against the other.
  auto bits_family = [](const std::string& isa) { return isa == "amx" ? std::string("avx512") : isa; };
  const bool isa_differs = bits_family(base.optimized_isa) != bits_family(cur.optimized_isa);
  if (!isa_differs && base.optimized_isa != cur.optimized_isa)
    d.notes.push_back("optimized ran " + cur.optimized_isa + " here and " + base.optimized_isa +
                      " in the baseline: the same bits by design, compared strictly");
  if (isa_differs)
    d.notes.push_back("optimized ran " + cur.optimized_isa + " here and " + base.optimized_isa +
                      " in the baseline: its metric changes are informational, its verdicts still count");

  std::set<std::string> base_backends, base_kernels, cur_kernels, cur_backends_ignored;
  std::set<std::pair<std::string, std::string>> base_cases, cur_cases;  // (kernel, case)
  std::set<std::tuple<std::string, std::string, std::string>> cur_case_backends;
  for (const auto& [k, r] : base.runs) {
    base_backends.insert(std::get<2>(k));
    base_kernels.insert(std::get<0>(k));
    base_cases.insert({std::get<0>(k), std::get<1>(k)});
  }
  for (const auto& [k, r] : cur.runs) {
    if (!base_backends.count(std::get<2>(k))) {
      cur_backends_ignored.insert(std::get<2>(k));
      continue;
    }
    cur_kernels.insert(std::get<0>(k));
    cur_cases.insert({std::get<0>(k), std::get<1>(k)});
    cur_case_backends.insert({std::get<0>(k), std::get<1>(k), std::get<2>(k)});
  }
  if (!cur_backends_ignored.empty())
    d.notes.push_back("not in the baseline, not compared: backends " +
                      join({cur_backends_ignored.begin(), cur_backends_ignored.end()}));

  auto item = [](const char* kind, const Key& k, std::string output, std::string detail) {
    return DriftItem{kind, std::get<0>(k), std::get<1>(k), std::get<2>(k), std::get<3>(k), std::move(output),
                     std::move(detail)};
  };

  // What the baseline has: missing kernels and cases are one item each.
  for (const auto& k : base_kernels)
    if (!cur_kernels.count(k)) d.drift.push_back({"kernel disappeared", k, "", "", "", "", "no run of it in the results"});
  for (const auto& [k, cs] : base_cases)
    if (cur_kernels.count(k) && !cur_cases.count({k, cs}))
      d.drift.push_back({"case disappeared", k, cs, "", "", "", "no run of it in the results"});

  // A backend that ran none of a case's variants is one item, not one per variant.
  std::map<std::tuple<std::string, std::string, std::string>, std::vector<std::string>> missing;
  // (kernel, case, backend, verdict skipped/unsupported, reason) -> variants
  std::map<std::tuple<std::string, std::string, std::string, std::string, std::string>, std::vector<std::string>> skipped;
  for (const auto& [key, b] : base.runs) {
    const auto& [kernel, cs, backend, variant] = key;
    if (!cur_cases.count({kernel, cs})) continue;
    auto it = cur.runs.find(key);
    if (it == cur.runs.end()) {
      if (b.ran()) missing[{kernel, cs, backend}].push_back(variant);
      continue;
    }
    const Run& c = it->second;
    ++d.compared_runs;
    if (b.ran() && (c.verdict == "skipped" || c.verdict == "unsupported")) {
      skipped[{kernel, cs, backend, c.verdict, c.reason}].push_back(variant);
      continue;
    }
    if (c.errored() && !b.errored()) {
      d.drift.push_back(item("new failure", key, "", (verdict_is_error(c.verdict) ? c.verdict + ": " : std::string()) + c.reason));
      continue;
    }
    if (!b.ran() && c.ran()) {
      d.improved.push_back(item("now runs", key, "", "was " + b.verdict + (b.reason.empty() ? "" : ": " + b.reason)));
    }
    if (!c.ran()) continue;
    const bool other_isa = isa_differs && backend == "optimized";
    for (const auto& [name, bo] : b.outputs) {
      auto oi = c.outputs.find(name);
      if (oi == c.outputs.end()) {
        if (b.ran()) d.drift.push_back(item("output missing", key, name, "checked in the baseline, not now"));
        continue;
      }
      const Out& co = oi->second;
      ++d.compared_checks;
      std::vector<std::string> worse_parts, better_parts;
      auto cmp = [&](const char* what, double now, double before, const std::string& now_s, const std::string& before_s) {
        if (worse(now, before)) worse_parts.push_back(change(what, before_s, now_s));
        else if (worse(before, now)) better_parts.push_back(change(what, before_s, now_s));
      };
      cmp("max_ulp", static_cast<double>(co.max_ulp), static_cast<double>(bo.max_ulp), std::to_string(co.max_ulp),
          std::to_string(bo.max_ulp));
      cmp("mismatch", co.mismatch_ratio, bo.mismatch_ratio, fmt_ratio(co.mismatch_ratio), fmt_ratio(bo.mismatch_ratio));
      cmp("margin", co.margin, bo.margin, fmt_margin(co.margin), fmt_margin(bo.margin));
      if (co.contract != bo.contract)
        d.drift.push_back(item("contract changed", key, name, "'" + bo.contract + "' -> '" + co.contract + "'"));
      if (co.verdict != "passed" && bo.verdict == "passed") {
        std::string detail = "passed in the baseline, fails now";
        if (!worse_parts.empty()) detail += ": " + join(worse_parts);
        d.drift.push_back(item("new failure", key, name, detail));
      } else if (!worse_parts.empty()) {
        (other_isa ? d.other_isa : d.drift).push_back(item("worse", key, name, join(worse_parts)));
      } else if (co.verdict == "passed" && bo.verdict != "passed") {
        d.improved.push_back(item("now passes", key, name, join(better_parts)));
      } else if (!better_parts.empty()) {
        (other_isa ? d.other_isa : d.improved).push_back(item("better", key, name, join(better_parts)));
      }
    }
    for (const auto& [name, co] : c.outputs)
      if (!b.outputs.count(name)) {
        d.fresh.push_back(item("new output", key, name, "contract " + co.contract));
        if (co.verdict != "passed") d.drift.push_back(item("new failure", key, name, "a new check that fails"));
      }
  }
  for (const auto& [k, vars] : missing) {
    const auto& [kernel, cs, backend] = k;
    if (!cur_case_backends.count(k)) {
      d.drift.push_back({"variant missing", kernel, cs, backend, "", "",
                         "ran in the baseline (" + join(vars) + "), no run of this backend now"});
      continue;
    }
    for (const auto& v : vars)
      d.drift.push_back({"variant missing", kernel, cs, backend, v, "", "ran in the baseline, no run now"});
  }

  // Variants of one case x backend skipped (or unsupported) for one reason are one item.
  for (const auto& [k, vars] : skipped) {
    const auto& [kernel, cs, backend, verdict, reason] = k;
    d.drift.push_back({"variant " + verdict, kernel, cs, backend, vars.size() == 1 ? vars[0] : "", "",
                       (vars.size() == 1 ? "ran in the baseline" : join(vars) + " ran in the baseline") + ", now " +
                           verdict + ": " + reason});
  }

  // What only the results have: new kernels and cases are one item each; any failure among them is drift.
  std::set<std::string> new_kernels;
  std::set<std::pair<std::string, std::string>> new_cases;
  for (const auto& [key, c] : cur.runs) {
    const auto& [kernel, cs, backend, variant] = key;
    if (!base_backends.count(backend) || base.runs.count(key)) continue;
    if (!base_kernels.count(kernel)) {
      if (new_kernels.insert(kernel).second) d.fresh.push_back({"new kernel", kernel, "", "", "", "", ""});
    } else if (!base_cases.count({kernel, cs})) {
      if (new_cases.insert({kernel, cs}).second) d.fresh.push_back({"new case", kernel, cs, "", "", "", ""});
    } else {
      d.fresh.push_back(item("new variant", key, "", c.verdict));
    }
    if (c.errored()) d.drift.push_back(item("new failure", key, "", (verdict_is_error(c.verdict) ? c.verdict + ": " : std::string()) + c.reason));
    for (const auto& [name, o] : c.outputs)
      if (o.verdict != "passed")
        d.drift.push_back(item("new failure", key, name, "not in the baseline, fails: margin " + fmt_margin(o.margin)));
  }
  return d;
}

}  // namespace

DriftReport compare_with_baseline(const json& baseline_json, const json& current_json) {
  return compare(normalize(baseline_json, "baseline"), normalize(current_json, "results"));
}

DriftReport compare_with_baseline(const json& baseline_json, const Results& current) {
  return compare(normalize(baseline_json, "baseline"), normalize(current));
}

DriftReport compare_with_baseline(const Results& baseline, const Results& current) {
  return compare(normalize(baseline), normalize(current));
}


std::string drift_text(const DriftReport& d, size_t limit) {
  std::ostringstream os;
  auto section = [&](const char* title, const std::vector<DriftItem>& v) {
    if (v.empty()) return;
    os << title << " (" << v.size() << "):\n";
    for (size_t i = 0; i < v.size() && i < limit; ++i) os << "  " << v[i].line() << "\n";
    if (v.size() > limit) os << "  ... and " << v.size() - limit << " more (see the report)\n";
  };
  for (const auto& n : d.notes) os << "note: " << n << "\n";
  os << "compared " << d.compared_runs << " runs, " << d.compared_checks << " checks with the baseline\n";
  section("DRIFT", d.drift);
  section("new, not in the baseline (not drift)", d.fresh);
  section("better than the baseline (regenerate it to keep the gain)", d.improved);
  section("optimized ran another ISA than the baseline (informational)", d.other_isa);
  if (d.drift.empty()) os << "no drift\n";
  return os.str();
}

}  // namespace kcs
