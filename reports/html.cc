#include "reports/html.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "conformance/runner/results.h"
#include "reports/model.h"

namespace kcs {

using nlohmann::json;

std::string html_escape(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

namespace {

std::string esc(const std::string& s) { return html_escape(s); }
std::string esc(const char* s) { return html_escape(s); }
std::string esc(const json& j) { return html_escape(j.is_string() ? j.get<std::string>() : j.dump()); }

const char* kCss = R"(
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;margin:0;color:#1d2125;background:#fafbfc}
main{max-width:1280px;margin:0 auto;padding:16px 24px 48px}
h1{font-size:24px;margin:8px 0 4px}h2{font-size:19px;margin:32px 0 8px;padding-top:8px;border-top:2px solid #d0d7de}
h3{font-size:15px;margin:22px 0 6px}
code,pre{font-family:"DejaVu Sans Mono",Menlo,Consolas,monospace;font-size:12.5px}
pre{background:#f0f2f4;border:1px solid #d0d7de;border-radius:4px;padding:6px 8px;white-space:pre-wrap;word-break:break-all;margin:4px 0}
table{border-collapse:collapse;margin:6px 0 10px;background:#fff}
th,td{border:1px solid #d0d7de;padding:3px 7px;text-align:left;vertical-align:top}
th{background:#eef1f4;font-weight:600}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
nav{font-size:13px;margin:6px 0 0}nav a{margin-right:12px}
.lead{color:#444;margin:2px 0 10px}.muted{color:#6a737d}.small{font-size:12px}
.banner{display:inline-block;padding:4px 10px;border-radius:4px;font-weight:700;margin:4px 8px 4px 0}
.ok{background:#dafbe1;color:#116329}.bad{background:#ffebe9;color:#a40e26}.warn{background:#fff8c5;color:#7d4e00}
.m-exact{background:#e6f4ea}.m-ok{background:#eef7e8}.m-near{background:#fff4d6}.m-hair{background:#ffe2c2;font-weight:600}
.m-fail{background:#ffd7d5;color:#a40e26;font-weight:700}.m-none{color:#6a737d}
.gauge{display:inline-block;width:70px;height:8px;background:#e4e7eb;border-radius:4px;margin-left:6px;vertical-align:middle;overflow:hidden}
.gauge>span{display:block;height:8px}
.g-exact{background:#2e7d32}.g-ok{background:#66bb6a}.g-near{background:#f9a825}.g-hair{background:#ef6c00}.g-fail{background:#d32f2f}
.cards{display:flex;flex-wrap:wrap;gap:10px;margin:6px 0;align-items:flex-start}
.card{background:#fff;border:1px solid #d0d7de;border-radius:6px;padding:6px 8px;width:380px}
.card code{overflow-wrap:anywhere}
.card h4{margin:0 0 2px;font-size:13px}
.card table{font-size:11px}.card td{white-space:nowrap}.card td,.card th{padding:1px 4px}
.failure{background:#fff;border-left:4px solid #d32f2f;padding:4px 10px;margin:8px 0}
.skip{color:#7d4e00}.m-xfail{background:#fff8c5;color:#7d4e00}.m-outside{background:#ddf4ff;color:#0a3069}
.banner.outside{background:#ddf4ff;color:#0a3069}
details{margin:6px 0}summary{cursor:pointer;font-weight:600}
)";

std::string margin_cell(double m, bool has_checks = true) {
  if (!has_checks) return "<td class=\"n m-none\">&mdash;</td>";
  const char* cls = margin_class(m);
  double w = std::isnan(m) || m > 1 ? 100 : 100 * m;
  if (m > 0 && w < 2) w = 2;  // a nonzero margin stays visible
  char width[16];
  std::snprintf(width, sizeof width, "%.0f", w);
  return std::string("<td class=\"n ") + cls + "\" title=\"" + margin_words(m) + "\">" + esc(fmt_margin(m)) +
         "<span class=\"gauge\"><span class=\"g-" + (cls + 2) + "\" style=\"width:" + width + "%\"></span></span></td>";
}

std::string num_cell(const std::string& s) { return "<td class=\"n\">" + esc(s) + "</td>"; }
std::string num_cell(int64_t n) { return num_cell(std::to_string(n)); }

// Amber for what an expectation list or the machine explains (xfail, unsupported, skipped); blue for
// a difference outside the contract (neither a pass nor a failure); red for failed (an unexpected
// pass included) and error.
std::string verdict_badge(const std::string& v) {
  const char* cls = v == "passed"                                              ? "ok"
                    : v == "skipped" || v == "xfail" || v == "unsupported"      ? "warn"
                    : v == kOutsideContractDiffers                              ? "outside"
                                                                                : "bad";
  return std::string("<span class=\"banner ") + cls + "\">" + esc(v) + "</span>";
}

}  // namespace

std::string ulp_histogram_svg(const std::array<int64_t, kUlpBuckets>& hist, const std::string& title) {
  static const char* colors[kUlpBuckets] = {"#2e7d32", "#9ccc65", "#d4e157", "#ffca28",
                                            "#ffa726", "#ff7043", "#e53935", "#8e24aa"};
  const int width = 360, height = 150, left = 8, top = 30, plot_h = 88;
  const double slot = static_cast<double>(width - 2 * left) / kUlpBuckets;
  int64_t total = 0, peak = 0;
  for (int64_t c : hist) total += c, peak = std::max(peak, c);
  std::ostringstream os;
  os << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << width << "\" height=\"" << height
     << "\" viewBox=\"0 0 " << width << " " << height << "\" role=\"img\" aria-label=\"" << esc(title) << "\">"
     << "<title>" << esc(title) << "</title>"
     << "<text x=\"" << left << "\" y=\"13\" font-size=\"11\" fill=\"#1d2125\">" << esc(title) << "</text>"
     << "<text x=\"" << width - left << "\" y=\"13\" font-size=\"10\" fill=\"#6a737d\" text-anchor=\"end\">"
     << "log scale</text>";
  const double denom = std::log10(1.0 + static_cast<double>(peak));
  for (int b = 0; b < kUlpBuckets; ++b) {
    const int64_t c = hist[static_cast<size_t>(b)];
    double h = denom > 0 ? plot_h * std::log10(1.0 + static_cast<double>(c)) / denom : 0;
    if (c > 0 && h < 2) h = 2;
    const double x = left + b * slot + 3, w = slot - 6, y = top + plot_h - h;
    char buf[256];
    std::snprintf(buf, sizeof buf, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\">", x, y, w,
                  h, colors[b]);
    os << buf << "<title>" << esc(ulp_bucket_name(b)) << " ULP: " << c << " elements</title></rect>";
    std::snprintf(buf, sizeof buf, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"10\" text-anchor=\"middle\" fill=\"%s\">",
                  x + w / 2, y - 3, c ? "#1d2125" : "#9aa1a9");
    os << buf << esc(fmt_count(c)) << "</text>";
    std::snprintf(buf, sizeof buf, "<text x=\"%.1f\" y=\"%d\" font-size=\"10\" text-anchor=\"middle\" fill=\"#444\">",
                  x + w / 2, top + plot_h + 14);
    os << buf << esc(ulp_bucket_name(b)) << "</text>";
  }
  os << "<line x1=\"" << left << "\" y1=\"" << top + plot_h << "\" x2=\"" << width - left << "\" y2=\"" << top + plot_h
     << "\" stroke=\"#6a737d\"/>"
     << "<text x=\"" << width / 2 << "\" y=\"" << height - 4
     << "\" font-size=\"10\" text-anchor=\"middle\" fill=\"#6a737d\">ULP distance to the reference ("
     << esc(fmt_count(total)) << " elements)</text></svg>";
  return os.str();
}

namespace {

void write_overview(std::ostringstream& os, const ReportModel& m) {
  os << "<section id=\"overview\"><h2>Overview</h2>";
  if (m.overview.empty()) {
    os << "<p class=\"muted\">No runs in these results.</p></section>";
    return;
  }
  // The expectation-list columns appear only when some run has such a verdict.
  const bool expect = m.has_expectations();
  const bool outside = m.outside > 0;  // the column appears only when some run differs outside a contract
  os << "<table id=\"overview-table\"><thead><tr><th>kernel</th><th>backend</th><th class=\"n\">runs</th>"
        "<th class=\"n\">passed</th><th class=\"n\">failed</th><th class=\"n\">errors</th>"
     << (outside ? "<th class=\"n\">outside the contract (differ)</th>" : "")
     << (expect ? "<th class=\"n\">expected failures</th>" : "") << "<th class=\"n\">skipped</th>"
     << (expect ? "<th class=\"n\">unsupported</th>" : "") << "<th>"
     << (expect ? "reasons (skipped, expected failures, unsupported) / first error" : "skip reasons / first error")
     << "</th><th class=\"n\">checks</th><th class=\"n\">worst margin</th><th class=\"n\">max ULP</th></tr></thead><tbody>";
  std::map<std::string, size_t> kernel_index;
  for (size_t i = 0; i < m.kernels.size(); ++i) kernel_index[m.kernels[i].kernel] = i;
  for (const auto& r : m.overview) {
    std::string why;
    for (const auto& [reason, n] : r.skip_reasons)
      why += "<div class=\"skip\">" + std::to_string(n) + " skipped: " + esc(reason) + "</div>";
    for (const auto& [reason, n] : r.xfail_reasons)
      why += "<div class=\"skip\">" + std::to_string(n) + (n == 1 ? " expected failure: " : " expected failures: ") +
             esc(reason) + "</div>";
    for (const auto& [reason, n] : r.unsupported_reasons)
      why += "<div class=\"skip\">" + std::to_string(n) + " unsupported: " + esc(reason) + "</div>";
    if (!r.first_error.empty()) why += "<div class=\"m-fail\">error: " + esc(r.first_error) + "</div>";
    auto amber = [&](int n) { return n ? "<td class=\"n m-xfail\">" + std::to_string(n) + "</td>" : num_cell(n); };
    std::string checks = std::to_string(r.checks);
    if (r.xfail_checks) checks += " (+" + std::to_string(r.xfail_checks) + " xfail)";
    if (r.outside_checks) checks += " (+" + std::to_string(r.outside_checks) + " outside contract)";
    os << "<tr><td><a href=\"#k-" << kernel_index[r.kernel] << "\"><code>" << esc(r.kernel) << "</code></a></td><td>"
       << esc(r.backend) << "</td>" << num_cell(r.runs) << num_cell(r.passed)
       << (r.failed ? "<td class=\"n m-fail\">" + std::to_string(r.failed) + "</td>" : num_cell(r.failed))
       << (r.errors ? "<td class=\"n m-fail\">" + std::to_string(r.errors) + "</td>" : num_cell(r.errors))
       << (outside ? (r.outside ? "<td class=\"n m-outside\">" + std::to_string(r.outside) + "</td>" : num_cell(r.outside)) : "")
       << (expect ? amber(r.xfail) : "") << num_cell(r.skipped) << (expect ? amber(r.unsupported) : "")
       << "<td class=\"small\">" << why << "</td>" << num_cell(checks) << margin_cell(r.worst_margin, r.checks > 0)
       << (r.checks ? num_cell(r.max_ulp) : "<td class=\"n m-none\">&mdash;</td>") << "</tr>";
  }
  os << "</tbody></table><p class=\"small muted\">Margin = observed error / allowed error for the binding limit of "
        "the contract: 0 exact, &le; 1 passes, &ge; 0.9 passes by a hair, &gt; 1 (or inf) fails. Worst margin is the "
        "maximum over every check of every case and tile.";
  if (expect)
    os << " Expected failures (xfail) and unsupported cases come from the backend's expectation list "
          "(<code>kcs run --expect</code>): an expected failure ran and failed as listed; its checks are "
          "not in the checks, worst margin and max ULP columns. An unsupported case did not run.";
  if (outside)
    os << " Outside the contract (differ): runs on cases whose inputs the kernel's contract leaves out (e.g. NaN "
          "and Inf inputs) where the backend differs from the reference's documented behaviour; neither passed nor "
          "failed, listed under <a href=\"#outside-contract\">Outside the contract</a>, their checks not in the "
          "figures beside.";
  os << "</p></section>";
}

void write_drift(std::ostringstream& os, const DriftReport& d, const HtmlOptions& o) {
  os << "<section id=\"drift\"><h2>Drift against the baseline</h2>";
  os << (d.drift.empty() ? "<span class=\"banner ok\">no drift</span>"
                         : "<span class=\"banner bad\">" + std::to_string(d.drift.size()) + " drifted</span>")
     << "<span class=\"muted\">compared " << d.compared_runs << " runs, " << d.compared_checks << " checks</span><ul>";
  for (const auto& n : d.notes) os << "<li class=\"small\">" << esc(n) << "</li>";
  os << "</ul>";
  auto table = [&](const char* title, const char* id, const std::vector<DriftItem>& v, const char* cls) {
    if (v.empty()) return;
    os << "<h3 id=\"" << id << "\">" << title << " (" << v.size() << ")</h3><table><thead><tr><th>kind</th>"
       << "<th>kernel / case</th><th>backend</th><th>variant</th><th>output</th><th>detail</th></tr></thead><tbody>";
    for (size_t i = 0; i < v.size() && i < o.max_drift_rows; ++i) {
      const auto& x = v[i];
      os << "<tr><td class=\"" << cls << "\">" << esc(x.kind) << "</td><td><code>"
         << esc(x.case_id.empty() ? x.kernel : x.case_id) << "</code></td><td>" << esc(x.backend) << "</td><td>"
         << esc(x.variant) << "</td><td><code>" << esc(x.output) << "</code></td><td>" << esc(x.detail) << "</td></tr>";
    }
    os << "</tbody></table>";
    if (v.size() > o.max_drift_rows)
      os << "<p class=\"muted\">&hellip; and " << v.size() - o.max_drift_rows << " more.</p>";
  };
  table("Drifted (worse than the baseline)", "drift-list", d.drift, "m-fail");
  table("New, not in the baseline (not drift)", "drift-new", d.fresh, "m-none");
  table("Better than the baseline (regenerate it to keep the gain)", "drift-improved", d.improved, "m-exact");
  table("optimized ran another ISA than the baseline (informational)", "drift-isa", d.other_isa, "m-near");
  os << "</section>";
}

void write_worst_elements(std::ostringstream& os, const CheckRef& worst_check, size_t limit) {
  if (!worst_check) return;
  const Metrics& mt = worst_check->metrics;
  const std::vector<WorstElement>& worst = mt.worst;
  os << "<div class=\"small\">worst case: <code>" << esc(worst_check.run->case_id) << "</code> "
     << esc(variant_name(*worst_check.run)) << ", margin <b>" << esc(fmt_margin(worst_check->margin)) << "</b>";
  if (mt.worst_row >= 0) os << ", worst row " << mt.worst_row << " (" << mt.worst_row_max_ulp << " ULP)";
  os << "</div>";
  const std::string& msg = worst_check->message;
  if (!msg.empty()) os << "<div class=\"small m-fail\">" << esc(msg) << "</div>";
  if (!worst_check->diagnosis.empty())
    os << "<div class=\"small\"><b>diagnosis:</b> " << esc(worst_check->diagnosis) << "</div>";
  if (worst.empty()) {
    os << "<div class=\"small muted\">no element differs from the reference</div>";
    return;
  }
  // The cause columns (the reference before rounding, a quantized element's group amax and input)
  // only where some listed element has them.
  bool pre = false, amax = false, input = false;
  for (const WorstElement& w : worst) {
    pre |= !std::isnan(w.prerounding);
    amax |= !std::isnan(w.amax);
    input |= !std::isnan(w.input);
  }
  os << "<table><thead><tr><th>index</th><th class=\"n\">expected</th><th class=\"n\">actual</th>"
        "<th class=\"n\">abs err</th><th class=\"n\">ULP</th>"
     << (pre ? "<th class=\"n\">before rounding</th>" : "") << (amax ? "<th class=\"n\">group amax</th>" : "")
     << (input ? "<th class=\"n\">input</th>" : "") << "</tr></thead><tbody>";
  for (size_t i = 0; i < worst.size() && i < limit; ++i) {
    const WorstElement& w = worst[i];
    os << "<tr><td><code>" << esc(fmt_index(w.index)) << "</code></td>" << num_cell(fmt_value(w.expected))
       << num_cell(fmt_value(w.actual)) << num_cell(fmt_num(w.abs_err)) << num_cell(w.ulp);
    if (pre) os << num_cell(fmt_value(w.prerounding));
    if (amax) os << num_cell(fmt_value(w.amax));
    if (input) os << num_cell(fmt_value(w.input));
    os << "</tr>";
  }
  os << "</tbody></table>";
}

void write_kernel(std::ostringstream& os, const KernelView& kv, size_t index, const HtmlOptions& o) {
  os << "<section id=\"k-" << index << "\" class=\"kernel\"><h2>Kernel <code>" << esc(kv.kernel) << "</code></h2>";
  os << "<p class=\"lead\">" << kv.cases.size() << " cases &times; " << kv.variants.size()
     << " variants (tile configs) on " << kv.backends.size() << " backends. Variants:";
  for (const auto& v : kv.variants) os << " <code>" << esc(v) << "</code>";
  os << "</p>";

  if (!kv.closest.empty()) {
    os << "<h3>Closest to the limit (passing checks with a nonzero margin)</h3><table><thead><tr><th>case</th>"
          "<th>backends</th><th>variant (worst)</th><th>output</th><th>contract</th><th class=\"n\">margin</th>"
          "<th class=\"n\">max ULP</th><th class=\"n\">mismatch</th></tr></thead><tbody>";
    for (const auto& row : kv.closest) {
      const CheckRef& c = row.check;
      const Metrics& mt = c->metrics;
      std::string backends;
      for (const auto& b : row.backends) backends += (backends.empty() ? "" : ", ") + b;
      os << "<tr><td><code>" << esc(c.run->case_id) << "</code></td><td>" << esc(backends) << "</td><td>"
         << esc(variant_name(*c.run)) << "</td><td><code>" << esc(c->name) << "</code></td><td><code>"
         << esc(c->contract) << "</code></td>" << margin_cell(c->margin) << num_cell(mt.max_ulp)
         << num_cell(fmt_ratio(mt.mismatch_ratio)) << "</tr>";
    }
    os << "</tbody></table>";
  }

  for (const auto& out : kv.outputs) {
    std::vector<std::string> contracts;
    for (const auto& b : kv.backends) {
      auto it = kv.groups.find({out, b});
      if (it == kv.groups.end()) continue;
      for (const auto& c : it->second.contracts)
        if (std::find(contracts.begin(), contracts.end(), c) == contracts.end()) contracts.push_back(c);
    }
    os << "<h3>output <code>" << esc(out) << "</code> &mdash; contract";
    for (const auto& c : contracts) os << " <code>" << esc(c) << "</code>";
    os << "</h3><table class=\"output\"><thead><tr><th>backend</th><th>verdict</th><th class=\"n\">checks</th>"
          "<th class=\"n\">cases</th><th class=\"n\">worst margin</th><th class=\"n\">max abs err</th>"
          "<th class=\"n\">max rel err</th><th class=\"n\">max ULP</th><th class=\"n\">mismatch (max)</th>"
          "<th class=\"n\">min cosine</th><th class=\"n\">min SNR dB</th></tr></thead><tbody>";
    for (const auto& b : kv.backends) {
      auto it = kv.groups.find({out, b});
      if (it == kv.groups.end()) continue;
      const OutputGroup& g = it->second;
      std::string passed = std::to_string(g.checks - g.failed) + "/" + std::to_string(g.checks);
      if (g.xfail) passed += " (+" + std::to_string(g.xfail) + " xfail)";
      if (g.outside) passed += " (+" + std::to_string(g.outside) + " outside contract)";
      os << "<tr><td>" << esc(b) << "</td><td>"
         << verdict_badge(g.failed                  ? "failed"
                          : g.xfail                 ? "xfail"
                          : g.checks == 0 && g.outside ? kOutsideContractDiffers
                                                    : "passed")
         << "</td>" << num_cell(passed) << num_cell(g.cases) << margin_cell(g.worst_margin, g.checks > 0);
      if (g.checks == 0) {  // only checks of expected failures: no metrics of work that counts
        for (int i = 0; i < 6; ++i) os << "<td class=\"n m-none\">&mdash;</td>";
        os << "</tr>";
        continue;
      }
      os << num_cell(fmt_num(g.max_abs)) << num_cell(fmt_num(g.max_rel)) << num_cell(g.max_ulp)
         << num_cell(fmt_ratio(g.max_mismatch_ratio)) << num_cell(fmt_value(g.min_cosine)) << num_cell(fmt_num(g.min_snr_db))
         << "</tr>";
    }
    os << "</tbody></table><div class=\"cards\">";
    for (const auto& b : kv.backends) {
      auto it = kv.groups.find({out, b});
      if (it == kv.groups.end()) continue;
      const OutputGroup& g = it->second;
      int64_t total = 0;
      for (int64_t c : g.hist) total += c;
      os << "<div class=\"card\"><h4>" << esc(b) << " &middot; <code>" << esc(out) << "</code></h4>";
      if (total > 0)
        os << ulp_histogram_svg(g.hist, b + ": " + std::to_string(g.cases) + " cases, summed");
      else if (g.checks == 0)
        os << "<div class=\"small muted\">only expected failures or runs outside the contract (listed below)</div>";
      else
        os << "<div class=\"small muted\">no element-wise ULP data (an invariant or rejection check)</div>";
      if (g.xfail && g.checks)
        os << "<div class=\"small skip\">" << g.xfail << " checks of expected failures left out</div>";
      if (g.outside && g.checks)
        os << "<div class=\"small m-outside\">" << g.outside << " checks of runs outside the contract left out</div>";
      write_worst_elements(os, g.worst, 5);
      os << "</div>";
    }
    os << "</div>";
    // Tile configs x backends: tiling must never change a bit, so these columns normally agree.
    os << "<table class=\"tiles small\"><thead><tr><th>variant</th>";
    for (const auto& b : kv.backends) os << "<th class=\"n\">" << esc(b) << " max ULP / margin</th>";
    os << "</tr></thead><tbody>";
    for (const auto& v : kv.variants) {
      bool any = false;
      for (const auto& b : kv.backends) any = any || kv.tiles.count({out, v, b});
      if (!any) continue;
      os << "<tr><td><code>" << esc(v) << "</code></td>";
      for (const auto& b : kv.backends) {
        auto it = kv.tiles.find({out, v, b});
        if (it == kv.tiles.end()) {
          os << "<td class=\"n m-none\">&mdash;</td>";
          continue;
        }
        const Cell& c = it->second;
        if (c.checks == 0) {  // only checks of xfail / outside-contract runs
          if (c.xfail) os << "<td class=\"n m-xfail\">" << c.xfail << " xfail</td>";
          else os << "<td class=\"n m-outside\">" << c.outside << " outside contract</td>";
          continue;
        }
        os << "<td class=\"n " << margin_class(c.worst_margin) << "\">" << c.max_ulp << " / "
           << esc(fmt_margin(c.worst_margin)) << (c.failed ? " (" + std::to_string(c.failed) + " failed)" : "")
           << (c.xfail ? " (+" + std::to_string(c.xfail) + " xfail)" : "")
           << (c.outside ? " (+" + std::to_string(c.outside) + " outside contract)" : "") << "</td>";
      }
      os << "</tr>";
    }
    os << "</tbody></table>";
  }

  os << "<details><summary>Per case: worst margin per backend (" << kv.cases.size() << " cases)</summary>"
     << "<table class=\"small\"><thead><tr><th>case</th>";
  for (const auto& b : kv.backends) os << "<th class=\"n\">" << esc(b) << "</th>";
  os << "</tr></thead><tbody>";
  size_t rows = 0;
  for (const auto& cs : kv.cases) {
    if (rows++ >= o.max_case_rows) break;
    os << "<tr><td><code>" << esc(cs) << "</code></td>";
    for (const auto& b : kv.backends) {
      auto it = kv.case_cells.find({cs, b});
      if (it == kv.case_cells.end() || it->second.runs == 0) {
        os << "<td class=\"n m-none\">&mdash;</td>";
        continue;
      }
      const CaseCell& c = it->second;
      if (c.skipped + c.unsupported == c.runs) {
        os << "<td class=\"n skip\">" << (c.unsupported == 0 ? "skipped" : c.skipped == 0 ? "unsupported" : "skipped / unsupported") << "</td>";
        continue;
      }
      const bool bad = c.failed || c.errors;
      os << "<td class=\"n "
         << (bad ? "m-fail" : c.xfail ? "m-xfail" : c.outside ? "m-outside" : margin_class(c.worst_margin)) << "\">"
         << (c.checks ? esc(fmt_margin(c.worst_margin)) : "&mdash;")
         << (bad ? " (" + std::to_string(c.failed + c.errors) + "/" + std::to_string(c.runs) + " fail)" : "")
         << (c.xfail ? " (" + std::to_string(c.xfail) + "/" + std::to_string(c.runs) + " xfail)" : "")
         << (c.outside ? " (" + std::to_string(c.outside) + "/" + std::to_string(c.runs) + " outside contract)" : "")
         << "</td>";
    }
    os << "</tr>";
  }
  os << "</tbody></table>";
  if (kv.cases.size() > o.max_case_rows)
    os << "<p class=\"muted\">&hellip; and " << kv.cases.size() - o.max_case_rows
       << " more cases (see results.jsonl).</p>";
  os << "</details></section>";
}

void write_failures(std::ostringstream& os, const ReportModel& m, const HtmlOptions& o) {
  os << "<section id=\"failures\"><h2>Failures</h2>";
  if (m.failures.empty()) {
    os << "<p><span class=\"banner ok\">no failures</span>"
       << (m.xfail ? "<span class=\"muted\">(expected failures are listed below)</span>" : "") << "</p></section>";
    return;
  }
  os << "<p>" << m.failures.size() << " runs failed or errored. Each line under <i>repro</i> reruns it.</p>";
  for (size_t i = 0; i < m.failures.size() && i < o.max_failures; ++i) {
    const ResultRun& r = *m.failures[i].run;
    os << "<div class=\"failure\"><div>" << verdict_badge(r.verdict) << "<code>" << esc(r.case_id) << "</code> on <b>"
       << esc(r.backend) << "</b>, " << esc(variant_name(r)) << ": " << esc(r.reason) << "</div>";
    if (!m.failures[i].checks.empty()) {
      os << "<table class=\"small\"><thead><tr><th>output</th><th>contract</th><th class=\"n\">margin</th>"
            "<th class=\"n\">max abs</th><th class=\"n\">max ULP</th><th class=\"n\">mismatch</th><th>message</th>"
            "</tr></thead><tbody>";
      for (const CheckResult* c : m.failures[i].checks) {
        const Metrics& mt = c->metrics;
        os << "<tr><td><code>" << esc(c->name) << "</code></td><td><code>" << esc(c->contract) << "</code></td>"
           << margin_cell(c->margin) << num_cell(fmt_num(mt.max_abs)) << num_cell(mt.max_ulp)
           << num_cell(fmt_ratio(mt.mismatch_ratio)) << "<td>" << esc(c->message) << "</td></tr>";
      }
      os << "</tbody></table>";
    }
    os << "<div class=\"small\">repro:</div><pre><code>" << esc(r.repro) << "</code></pre></div>";
  }
  if (m.failures.size() > o.max_failures)
    os << "<p class=\"muted\">&hellip; and " << m.failures.size() - o.max_failures
       << " more failures: every one is in results.jsonl with its repro line.</p>";
  os << "</section>";
}

// Known failures of the expectation list: one table row each (the reason says what was expected
// and what was observed), its failed outputs and its repro line; shorter than a failure, amber.
void write_expected_failures(std::ostringstream& os, const ReportModel& m, const HtmlOptions& o) {
  if (m.expected_failures.empty()) return;
  os << "<section id=\"expected-failures\"><h2>Expected failures</h2><p>" << verdict_badge("xfail")
     << m.expected_failures.size() << " runs failed as the backend's expectation list says: not counted as failures. "
     << "Once the backend is fixed they pass, which fails the run (unexpected pass) until the entry is removed.</p>"
     << "<table id=\"expected-failures-table\" class=\"small\"><thead><tr><th>case</th><th>backend</th><th>variant</th>"
     << "<th>reason (expected; observed)</th><th>failed outputs (margin)</th><th>repro</th></tr></thead><tbody>";
  for (size_t i = 0; i < m.expected_failures.size() && i < o.max_failures; ++i) {
    const ResultRun& r = *m.expected_failures[i].run;
    std::string outs;
    for (const CheckResult* c : m.expected_failures[i].checks)
      outs += (outs.empty() ? "" : ", ") + c->name + " (" + fmt_margin(c->margin) + ")";
    os << "<tr class=\"m-xfail\"><td><code>" << esc(r.case_id) << "</code></td><td>" << esc(r.backend) << "</td><td>"
       << esc(variant_name(r)) << "</td><td>" << esc(r.reason) << "</td><td><code>" << esc(outs)
       << "</code></td><td><code>" << esc(r.repro) << "</code></td></tr>";
  }
  os << "</tbody></table>";
  if (m.expected_failures.size() > o.max_failures)
    os << "<p class=\"muted\">&hellip; and " << m.expected_failures.size() - o.max_failures
       << " more expected failures: every one is in results.jsonl with its repro line.</p>";
  os << "</section>";
}

// Runs that differ from the reference outside the kernel's contract: how each differs (reason,
// differing outputs with their margins, repro); blue, apart from failures and expected failures.
void write_outside_contract(std::ostringstream& os, const ReportModel& m, const HtmlOptions& o) {
  if (m.outside_contract.empty()) return;
  os << "<section id=\"outside-contract\"><h2>Outside the contract: differs</h2><p>" << verdict_badge(kOutsideContractDiffers)
     << m.outside_contract.size() << " runs differ from the reference on cases whose inputs lie outside the "
     << "kernel's contract (the catalog's <code>outside_contract</code>, e.g. NaN and Inf inputs). The reference "
     << "documents one behaviour there; these differences are neither passes nor failures. Where a case keeps "
     << "in-contract rows (rows whose inputs are all finite), those passed: a difference there is a failure.</p>"
     << "<table id=\"outside-contract-table\" class=\"small\"><thead><tr><th>case</th><th>backend</th><th>variant</th>"
     << "<th>how it differs</th><th>differing outputs (margin)</th><th>repro</th></tr></thead><tbody>";
  for (size_t i = 0; i < m.outside_contract.size() && i < o.max_failures; ++i) {
    const ResultRun& r = *m.outside_contract[i].run;
    std::string outs;
    for (const CheckResult* c : m.outside_contract[i].checks)
      outs += (outs.empty() ? "" : ", ") + c->name + " (" + fmt_margin(c->margin) + ")";
    os << "<tr class=\"m-outside\"><td><code>" << esc(r.case_id) << "</code></td><td>" << esc(r.backend) << "</td><td>"
       << esc(variant_name(r)) << "</td><td>" << esc(r.reason) << "</td><td><code>" << esc(outs)
       << "</code></td><td><code>" << esc(r.repro) << "</code></td></tr>";
  }
  os << "</tbody></table>";
  if (m.outside_contract.size() > o.max_failures)
    os << "<p class=\"muted\">&hellip; and " << m.outside_contract.size() - o.max_failures
       << " more: every one is in results.jsonl with its repro line.</p>";
  os << "</section>";
}

void write_machine(std::ostringstream& os, const ResultsHeader& h, const ReportModel& m) {
  const json& mach = h.machine;
  os << "<section id=\"machine\"><h2>Machine and versions</h2><table><tbody>"
     << "<tr><th>CPU</th><td>" << esc(mach.value("cpu", "")) << "</td></tr><tr><th>features</th><td><code>";
  for (const auto& f : mach.value("features", json::array())) os << esc(f) << " ";
  os << "</code></td></tr><tr><th>kcs</th><td>" << esc(h.kcs_version) << "</td></tr>"
     << "<tr><th>spec</th><td>" << esc(h.spec_version) << "</td></tr>"
     << "<tr><th>compiler</th><td>" << esc(h.compiler) << "</td></tr>"
     << "<tr><th>date</th><td>" << esc(h.date) << "</td></tr>"
     << "<tr><th>tier</th><td>" << esc(h.tier) << "</td></tr>"
     << "<tr><th>command</th><td><code>" << esc(h.command) << "</code></td></tr>"
     << "</tbody></table><h3>ISA variants</h3><table id=\"isa-table\"><thead><tr><th>variant</th>"
     << "<th>runs on this CPU</th><th>why not</th><th class=\"n\">runs executed in this report</th></tr></thead><tbody>";
  const json isas = mach.value("isa", json::object());
  for (const auto& [isa, v] : isas.items()) {
    const bool runnable = v.value("runnable", false);
    auto it = m.backend_runs.find(isa);
    os << "<tr><td><code>" << esc(isa) << "</code></td><td class=\"" << (runnable ? "m-exact" : "skip") << "\">"
       << (runnable ? "yes" : "no") << "</td><td>" << esc(v.value("reason", "")) << "</td>"
       << num_cell(it == m.backend_runs.end() ? 0 : it->second) << "</tr>";
  }
  os << "</tbody></table><p class=\"small muted\">Backends that executed runs:";
  for (const auto& [b, n] : m.backend_runs) os << " <code>" << esc(b) << "</code> (" << n << ")";
  os << ". <code>optimized</code> is the best variant this CPU runs: <code>" << esc(optimized_isa(mach))
     << "</code>.</p></section>";
}

}  // namespace

std::string report_html(const Results& results, const DriftReport* drift, const HtmlOptions& o) {
  const ReportModel m = build_model(results, o.closest);
  std::ostringstream os;
  const std::string& tier = results.header.tier;
  os << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
     << "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
     << "<title>kcs accuracy report &mdash; tier " << esc(tier) << "</title><style>" << kCss << "</style></head><body><main>"
     << "<h1>kcs accuracy report</h1><p class=\"lead\">tier <b>" << esc(tier) << "</b> &middot; "
     << esc(results.header.date) << " &middot; " << esc(results.header.machine.value("cpu", ""))
     << " &middot; " << m.kernels.size() << " kernels, " << m.runs << " runs, " << m.checks << " checks"
     << (m.xfail_checks ? " (+" + std::to_string(m.xfail_checks) + " of expected failures)" : "")
     << (m.outside_checks ? " (+" + std::to_string(m.outside_checks) + " outside the contract)" : "") << "</p><div>";
  // Known failures (xfail) and unsupported cases are amber, beside a green or red verdict on the rest.
  if (m.runs == 0)
    os << "<span class=\"banner warn\">no runs</span>";
  else if (m.failed || m.errors)
    os << "<span class=\"banner bad\">" << m.failed << " failed, " << m.errors << " errors</span>";
  else if (m.xfail || m.outside)
    os << "<span class=\"banner ok\">no unexpected failures: " << m.passed << " passed</span>";
  else
    os << "<span class=\"banner ok\">all " << m.passed << " executed runs passed</span>";
  if (m.xfail)
    os << "<span class=\"banner warn\">" << m.xfail << (m.xfail == 1 ? " expected failure" : " expected failures")
       << "</span>";
  if (m.outside)
    os << "<span class=\"banner outside\">" << m.outside << " outside the contract: differ"
       << "</span>";
  if (m.skipped) os << "<span class=\"banner warn\">" << m.skipped << " skipped</span>";
  if (m.unsupported) os << "<span class=\"banner warn\">" << m.unsupported << " unsupported</span>";
  if (m.checks) os << "<span class=\"banner " << (m.worst_margin > 1 ? "bad" : m.worst_margin >= 0.9 ? "warn" : "ok")
                   << "\">worst margin " << esc(fmt_margin(m.worst_margin)) << "</span>";
  if (drift)
    os << (drift->has_drift() ? "<span class=\"banner bad\">" + std::to_string(drift->drift.size()) +
                                    " drifted vs baseline</span>"
                              : std::string("<span class=\"banner ok\">no drift vs baseline</span>"));
  os << "</div><nav><a href=\"#overview\">Overview</a>";
  if (drift) os << "<a href=\"#drift\">Drift</a>";
  for (size_t i = 0; i < m.kernels.size(); ++i)
    os << "<a href=\"#k-" << i << "\"><code>" << esc(m.kernels[i].kernel) << "</code></a>";
  os << "<a href=\"#failures\">Failures</a>";
  if (!m.expected_failures.empty()) os << "<a href=\"#expected-failures\">Expected failures</a>";
  if (!m.outside_contract.empty()) os << "<a href=\"#outside-contract\">Outside the contract</a>";
  os << "<a href=\"#machine\">Machine</a></nav>";
  write_overview(os, m);
  if (drift) write_drift(os, *drift, o);
  for (size_t i = 0; i < m.kernels.size(); ++i) write_kernel(os, m.kernels[i], i, o);
  write_failures(os, m, o);
  write_expected_failures(os, m, o);
  write_outside_contract(os, m, o);
  write_machine(os, results.header, m);
  os << "<p class=\"small muted\">Written by <code>kcs report</code>; self-contained (no scripts, nothing "
        "fetched).</p></main></body></html>\n";
  return os.str();
}

std::string report_html(const json& results, const DriftReport* drift, const HtmlOptions& o) {
  return report_html(results_from_json(results, "results"), drift, o);
}

}  // namespace kcs
