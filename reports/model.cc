#include "reports/model.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <set>

#include "conformance/runner/results.h"
#include "kcs/status.h"

namespace kcs {

using nlohmann::json;

double worse_of(double a, double b) {
  if (std::isnan(a) || std::isnan(b)) return NAN;
  return std::max(a, b);
}

bool is_worse(double a, double b) {
  if (std::isnan(b)) return false;
  if (std::isnan(a)) return true;
  return a > b;
}

double number(const json& j, const char* key, double fallback) {
  if (!j.is_object() || !j.contains(key)) return fallback;
  return json_to_double(j.at(key));
}

std::string optimized_isa(const json& machine) {
  if (!machine.is_object() || !machine.contains("isa")) return "none";
  const json& isa = machine.at("isa");
  for (const char* name : {"amx", "avx512", "avx2"})
    if (isa.contains(name) && isa.at(name).value("runnable", false)) return name;
  return "none";
}

namespace {

template <class T>
void add_unique(std::vector<T>& v, const T& x) {
  if (std::find(v.begin(), v.end(), x) == v.end()) v.push_back(x);
}

void count_reason(ReasonCounts& v, const std::string& reason) {
  auto it = std::find_if(v.begin(), v.end(), [&](const auto& p) { return p.first == reason; });
  if (it == v.end())
    v.push_back({reason, 1});
  else
    ++it->second;
}

}  // namespace

std::string xfail_reason(const std::string& run_reason) {
  static const std::string prefix = "expected failure: ";
  std::string r = run_reason.substr(0, run_reason.find("; observed: "));
  if (r.compare(0, prefix.size(), prefix) == 0) r.erase(0, prefix.size());
  return r;
}

ReportModel build_model(const Results& results, size_t closest_per_kernel) {
  ReportModel m;
  std::map<std::pair<std::string, std::string>, size_t> row_of;
  std::map<std::string, size_t> kernel_of;
  auto row = [&](const std::string& k, const std::string& b) -> OverviewRow& {
    auto key = std::make_pair(k, b);
    auto it = row_of.find(key);
    if (it == row_of.end()) {
      it = row_of.emplace(key, m.overview.size()).first;
      m.overview.push_back({});
      m.overview.back().kernel = k;
      m.overview.back().backend = b;
    }
    return m.overview[it->second];
  };
  auto kview = [&](const std::string& k) -> KernelView& {
    auto it = kernel_of.find(k);
    if (it == kernel_of.end()) {
      it = kernel_of.emplace(k, m.kernels.size()).first;
      m.kernels.push_back({});
      m.kernels.back().kernel = k;
    }
    return m.kernels[it->second];
  };
  std::vector<size_t> failure_of(results.runs.size(), SIZE_MAX), xfail_of(results.runs.size(), SIZE_MAX),
      outside_of(results.runs.size(), SIZE_MAX);

  for (size_t ri = 0; ri < results.runs.size(); ++ri) {
    const ResultRun& r = results.runs[ri];
    if (!r.listed) continue;
    const std::string &k = r.kernel, &b = r.backend, &v = r.verdict, &cs = r.case_id;
    OverviewRow& o = row(k, b);
    KernelView& kv = kview(k);
    add_unique(kv.backends, b);
    add_unique(kv.cases, cs);
    add_unique(kv.variants, variant_name(r));
    CaseCell& cc = kv.case_cells[{cs, b}];
    ++o.runs;
    ++cc.runs;
    ++m.runs;
    if (v == "passed") ++o.passed, ++cc.passed, ++m.passed;
    if (v == "failed") ++o.failed, ++cc.failed, ++m.failed;
    if (verdict_is_error(v)) {  // error, or a verdict this version does not know (counted, never a pass)
      ++o.errors, ++cc.errors, ++m.errors;
      if (o.first_error.empty()) o.first_error = v == "error" ? r.reason : v + ": " + r.reason;
    }
    if (v == "skipped") {
      ++o.skipped, ++cc.skipped, ++m.skipped;
      count_reason(o.skip_reasons, r.reason);
    } else if (v == "unsupported") {
      ++o.unsupported, ++cc.unsupported, ++m.unsupported;
      count_reason(o.unsupported_reasons, r.reason);
    } else {
      ++m.backend_runs[b];
    }
    if (v == "xfail") {
      ++o.xfail, ++cc.xfail, ++m.xfail;
      count_reason(o.xfail_reasons, xfail_reason(r.reason));
      xfail_of[ri] = m.expected_failures.size();
      m.expected_failures.push_back({&r, {}});
    }
    if (v == kOutsideContractDiffers) {
      ++o.outside, ++cc.outside, ++m.outside;
      outside_of[ri] = m.outside_contract.size();
      m.outside_contract.push_back({&r, {}});
    }
    if (verdict_fails(v)) {
      failure_of[ri] = m.failures.size();
      m.failures.push_back({&r, {}});
    }
  }

  std::map<std::pair<std::string, std::string>, std::set<std::string>> group_cases;
  std::map<std::string, std::vector<CheckRef>> near;  // kernel -> passing checks with margin > 0
  for (size_t ri = 0; ri < results.runs.size(); ++ri) {
    const ResultRun& r = results.runs[ri];
    const std::string &k = r.kernel, &b = r.backend, &cs = r.case_id;
    const std::string var = variant_name(r);
    for (const CheckResult& c : r.checks) {
      const std::string& out = c.name;
      const bool failed = !c.passed;
      const double margin = margin_rank(c.margin);
      const Metrics& mt = c.metrics;
      const int64_t ulp = mt.max_ulp;

      OverviewRow& o = row(k, b);
      KernelView& kv = kview(k);
      add_unique(kv.backends, b);
      add_unique(kv.outputs, out);
      add_unique(kv.variants, var);
      add_unique(kv.cases, cs);
      OutputGroup& g = kv.groups[{out, b}];
      if (g.kernel.empty()) {
        g.kernel = k;
        g.output = out;
        g.backend = b;
      }
      add_unique(g.contracts, c.contract);

      // A check of an xfail run (passed or failed) is a known failure's: counted, listed with its
      // run, kept out of every worst margin, ULP figure, histogram and the closest list.
      if (xfail_of[ri] != SIZE_MAX) {
        ++o.xfail_checks;
        ++m.xfail_checks;
        ++g.xfail;
        ++kv.tiles[{out, var, b}].xfail;
        if (failed) m.expected_failures[xfail_of[ri]].checks.push_back(&c);
        continue;
      }
      // Likewise a check of a run outside the contract: how it differs is shown apart.
      if (outside_of[ri] != SIZE_MAX) {
        ++o.outside_checks;
        ++m.outside_checks;
        ++g.outside;
        ++kv.tiles[{out, var, b}].outside;
        if (failed) m.outside_contract[outside_of[ri]].checks.push_back(&c);
        continue;
      }

      ++o.checks;
      o.worst_margin = std::max(o.worst_margin, margin);
      o.max_ulp = std::max(o.max_ulp, ulp);
      ++m.checks;
      m.worst_margin = std::max(m.worst_margin, margin);

      ++g.checks;
      if (failed) ++g.failed;
      auto& gc = group_cases[{k + '\n' + out, b}];
      gc.insert(cs);
      g.cases = static_cast<int>(gc.size());
      g.worst_margin = std::max(g.worst_margin, margin);
      g.max_abs = worse_of(g.max_abs, mt.max_abs);
      g.max_rel = worse_of(g.max_rel, mt.max_rel);
      g.max_mismatch_ratio = worse_of(g.max_mismatch_ratio, mt.mismatch_ratio);
      g.max_ulp = std::max(g.max_ulp, ulp);
      g.mismatches += mt.mismatches;
      g.numel += mt.numel;
      const double cosv = mt.cosine, snr = mt.snr_db;
      g.min_cosine = std::isnan(cosv) || std::isnan(g.min_cosine) ? NAN : std::min(g.min_cosine, cosv);
      g.min_snr_db = std::isnan(snr) || std::isnan(g.min_snr_db) ? NAN : std::min(g.min_snr_db, snr);
      for (size_t i = 0; i < static_cast<size_t>(kUlpBuckets); ++i) g.hist[i] += mt.ulp_hist[i];
      if (!g.worst || check_worse(c, *g.worst.check)) g.worst = {&r, &c};

      Cell& t = kv.tiles[{out, var, b}];
      ++t.checks;
      if (failed) ++t.failed;
      t.worst_margin = std::max(t.worst_margin, margin);
      t.max_ulp = std::max(t.max_ulp, ulp);

      CaseCell& cc = kv.case_cells[{cs, b}];
      ++cc.checks;
      cc.worst_margin = std::max(cc.worst_margin, margin);

      if (!failed && margin > 0) near[k].push_back({&r, &c});
      if (failed && failure_of[ri] != SIZE_MAX) m.failures[failure_of[ri]].checks.push_back(&c);
    }
  }

  for (auto& kv : m.kernels) {
    auto& v = near[kv.kernel];
    std::stable_sort(v.begin(), v.end(), [](const CheckRef& a, const CheckRef& b) { return check_worse(*a.check, *b.check); });
    // One row per case x output: the backends where it is equally close share the row.
    std::map<std::pair<std::string, std::string>, size_t> row_of_case;
    for (const CheckRef& c : v) {
      const std::pair<std::string, std::string> key{c.run->case_id, c->name};
      auto it = row_of_case.find(key);
      if (it == row_of_case.end()) {
        if (kv.closest.size() >= closest_per_kernel) continue;
        row_of_case.emplace(key, kv.closest.size());
        kv.closest.push_back({c, {c.run->backend}});
      } else if (margin_rank(c->margin) == margin_rank(kv.closest[it->second].check->margin)) {
        add_unique(kv.closest[it->second].backends, c.run->backend);
      }
    }
  }
  return m;
}

std::string fmt_margin(double m) {
  if (std::isnan(m)) return "nan";
  if (std::isinf(m)) return m > 0 ? "inf" : "-inf";
  if (m == 0) return "0";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3g", m);
  return buf;
}

static std::string fmt_double(double v, const char* f) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buf[48];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

std::string fmt_num(double v) { return fmt_double(v, "%.4g"); }
std::string fmt_value(double v) { return fmt_double(v, "%.9g"); }

std::string fmt_ratio(double r) {
  if (std::isnan(r) || std::isinf(r)) return fmt_num(r);
  if (r == 0) return "0";
  return fmt_double(100 * r, "%.3g") + "%";
}

std::string fmt_count(int64_t n) {
  char buf[32];
  if (n < 10000) return std::to_string(n);
  if (n < 1000000) std::snprintf(buf, sizeof buf, "%.3gk", static_cast<double>(n) / 1e3);
  else if (n < 1000000000) std::snprintf(buf, sizeof buf, "%.3gM", static_cast<double>(n) / 1e6);
  else std::snprintf(buf, sizeof buf, "%.3gG", static_cast<double>(n) / 1e9);
  return buf;
}

std::string fmt_index(const std::vector<int64_t>& idx) {
  std::string s = "[";
  for (size_t i = 0; i < idx.size(); ++i) s += (i ? ", " : "") + std::to_string(idx[i]);
  return s + "]";
}

const char* margin_class(double m) {
  if (std::isnan(m) || m > 1) return "m-fail";
  if (m == 0) return "m-exact";
  if (m >= 0.9) return "m-hair";
  if (m >= 0.5) return "m-near";
  return "m-ok";
}

const char* margin_words(double m) {
  if (std::isnan(m) || m > 1) return "FAILS";
  if (m == 0) return "exact";
  if (m >= 0.9) return "passes by a hair";
  if (m >= 0.5) return "near limit";
  return "passes";
}

}  // namespace kcs
