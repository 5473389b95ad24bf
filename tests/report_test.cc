// Report writers (HTML, Markdown) and drift detection, on results files built with the same
// writer `kcs run` uses (results_json) and read back through JSON text as `kcs report` reads them.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <sstream>

#include "conformance/runner/results.h"
#include "kcs/status.h"
#include "reports/baseline.h"
#include "reports/html.h"
#include "reports/model.h"
#include "reports/summary.h"

namespace kcs {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::Not;

CheckResult check(const std::string& name, const std::string& contract, double margin, int64_t max_ulp,
                  int64_t numel = 64) {
  CheckResult c;
  c.name = name;
  c.contract = contract;
  c.passed = margin <= 1;
  c.margin = margin;
  c.metrics.numel = numel;
  c.metrics.max_ulp = max_ulp;
  c.metrics.ulp_hist[0] = numel - (max_ulp ? 1 : 0);
  if (max_ulp) {
    c.metrics.ulp_hist[static_cast<size_t>(ulp_bucket(max_ulp))] = 1;
    c.metrics.mismatches = 1;
    c.metrics.mismatch_ratio = 1.0 / static_cast<double>(numel);
    c.metrics.max_abs = 0.01 * static_cast<double>(max_ulp);
    c.metrics.max_rel = 0.001 * static_cast<double>(max_ulp);
    c.metrics.worst.push_back({{2, 5}, 1.5, 1.5 + c.metrics.max_abs, c.metrics.max_abs, max_ulp});
    c.metrics.worst_row = 2;
    c.metrics.worst_row_max_ulp = max_ulp;
    c.metrics.cosine = 0.9999;
    c.metrics.snr_db = 80;
  }
  return c;
}

RunRecord run(const std::string& kernel, const std::string& cs, const std::string& backend, const std::string& tile,
              std::vector<CheckResult> checks) {
  RunRecord r;
  r.kernel = kernel;
  r.case_id = cs;
  r.backend = backend;
  r.tile = tile;
  r.repro = repro_command(cs, backend, tile, 1);
  r.checks = std::move(checks);
  r.verdict = Verdict::passed;
  for (const auto& c : r.checks)
    if (!c.passed && r.verdict == Verdict::passed) {
      r.verdict = Verdict::failed;
      r.reason = c.name + ": " + c.message;
    }
  return r;
}

RunRecord skipped(const std::string& kernel, const std::string& cs, const std::string& backend,
                  const std::string& tile, const std::string& reason) {
  RunRecord r = run(kernel, cs, backend, tile, {});
  r.verdict = Verdict::skipped;
  r.reason = reason;
  return r;
}

// Through text, as the command line reads a results file.
json reparse(const json& j) { return json::parse(j.dump(1)); }

json with_machine(json j, bool avx512) {
  j["machine"] = {{"cpu", "Test CPU"},
                  {"features", avx512 ? json{"avx2", "avx512f"} : json{"avx2"}},
                  {"isa",
                   {{"avx512", {{"runnable", avx512}, {"reason", avx512 ? "" : "needs avx512f"}}},
                    {"avx2", {{"runnable", true}, {"reason", ""}}}}}};
  return j;
}

// Two cases x reference/optimized x two tiles; `codes` exact, `scale` within max_ulp(2) by 1 ULP.
json sweep(const std::string& tier = "ci") {
  std::vector<RunRecord> runs;
  for (const char* cs : {"q8.a.rows=3", "q8.b.rows=5"})
    for (const char* b : {"reference", "optimized"})
      for (const char* t : {"row_tile=1", "row_tile=16"})
        runs.push_back(run("q8", cs, b, t, {check("codes", "exact", 0, 0), check("scale", "max_ulp(2)", 0.5, 1)}));
  return with_machine(reparse(results_json(runs, tier, "kcs run --tier ci")), true);
}

json& result_of(json& j, const std::string& cs, const std::string& backend, const std::string& tile,
                const std::string& output) {
  for (auto& c : j["results"])
    if (c["case"] == cs && c["backend"] == backend && c["tile"] == tile && c["output"] == output) return c;
  throw Error("no such result");
}

json& run_of(json& j, const std::string& cs, const std::string& backend, const std::string& tile) {
  for (auto& r : j["runs"])
    if (r["case"] == cs && r["backend"] == backend && r["tile"] == tile) return r;
  throw Error("no such run");
}

void erase_if(json& arr, const std::function<bool(const json&)>& pred) {
  json out = json::array();
  for (const auto& x : arr)
    if (!pred(x)) out.push_back(x);
  arr = out;
}

size_t count(const std::string& s, const std::string& what) {
  size_t n = 0;
  for (size_t p = s.find(what); p != std::string::npos; p = s.find(what, p + 1)) ++n;
  return n;
}

// Every element the writer opens is closed (a writer bug here breaks the whole page).
void expect_balanced(const std::string& html) {
  for (const char* tag : {"div", "table", "tr", "td", "th", "section", "details", "svg", "code", "pre", "h3", "span"}) {
    const std::string t(tag);
    EXPECT_EQ(count(html, "<" + t + ">") + count(html, "<" + t + " "), count(html, "</" + t + ">")) << "<" << t << ">";
  }
}

// Cells of a Markdown table row: unescaped pipes minus one.
int md_cells(const std::string& line) {
  int pipes = 0;
  for (size_t i = 0; i < line.size(); ++i)
    if (line[i] == '|' && (i == 0 || line[i - 1] != '\\')) ++pipes;
  return pipes - 1;
}

std::vector<std::string> lines_with(const std::string& text, const std::string& what) {
  std::vector<std::string> out;
  std::istringstream is(text);
  for (std::string l; std::getline(is, l);)
    if (l.find(what) != std::string::npos) out.push_back(l);
  return out;
}

TEST(Html, EscapesTheFiveCharacters) {
  EXPECT_EQ(html_escape("<a href='x'>&\"</a>"), "&lt;a href=&#39;x&#39;&gt;&amp;&quot;&lt;/a&gt;");
  EXPECT_EQ(html_escape("plain q8.case=1"), "plain q8.case=1");
}

TEST(Markdown, CodeSpansSurviveBackticksAndPipes) {
  EXPECT_EQ(markdown_code("kcs run"), "`kcs run`");
  EXPECT_EQ(markdown_code("a`b"), "``a`b``");
  EXPECT_EQ(markdown_code("`x"), "`` `x ``");
  EXPECT_EQ(markdown_code("a|b"), "`a\\|b`");
  EXPECT_EQ(markdown_escape("a|b<c>&_"), "a\\|b\\<c\\>\\&\\_");
}

// Names a user (or a hostile results file) can choose go through the escaper everywhere.
json hostile_results() {
  CheckResult bad = check("o|<i>x</i>", "c<&>\"'", 3, 9);
  bad.message = "m<img src=x onerror=alert(1)>";
  RunRecord r = run("k<b>&\"'|", "k<b>.<script>alert(1)</script>|`x`", "b\"'<>", "t=<1>|", {bad});
  r.repro = "kcs run --case '<script>' | rm";
  RunRecord s = skipped("k<b>&\"'|", "k<b>.other", "b\"'<>", "t=<1>|", "needs <avx>|&");
  json j = reparse(results_json({r, s}, "ci<tier>", "kcs <cmd>"));
  j["machine"]["cpu"] = "<cpu name=\"x\">";
  j["compiler"] = "g++ <12> & co";
  return j;
}

TEST(Html, EscapesEveryStringFromTheResults) {
  const std::string html = report_html(hostile_results());
  EXPECT_THAT(html, Not(HasSubstr("<script")));
  EXPECT_THAT(html, Not(HasSubstr("<img")));
  EXPECT_THAT(html, Not(HasSubstr("k<b>")));
  EXPECT_THAT(html, Not(HasSubstr("<i>x")));
  EXPECT_THAT(html, Not(HasSubstr("<cpu")));
  EXPECT_THAT(html, Not(HasSubstr("<avx>")));
  EXPECT_THAT(html, Not(HasSubstr("<tier>")));
  EXPECT_THAT(html, Not(HasSubstr("b\"'")));
  EXPECT_THAT(html, HasSubstr("k&lt;b&gt;&amp;&quot;&#39;|"));
  EXPECT_THAT(html, HasSubstr("&lt;script&gt;alert(1)&lt;/script&gt;"));
  EXPECT_THAT(html, HasSubstr("m&lt;img src=x onerror=alert(1)&gt;"));
  EXPECT_THAT(html, HasSubstr("kcs run --case &#39;&lt;script&gt;&#39; | rm"));
  EXPECT_THAT(html, HasSubstr("needs &lt;avx&gt;|&amp;"));
  expect_balanced(html);
}

// Markdown text with its code spans removed: code spans render their content literally.
std::string outside_code(const std::string& md) {
  std::string out;
  for (size_t i = 0; i < md.size();) {
    if (md[i] == '`' && (i == 0 || md[i - 1] != '\\')) {
      size_t n = 0;
      while (i + n < md.size() && md[i + n] == '`') ++n;
      const size_t end = md.find(std::string(n, '`'), i + n);
      if (end == std::string::npos) return out + md.substr(i);
      i = end + n;
      continue;
    }
    out += md[i++];
  }
  return out;
}

TEST(Markdown, EscapesNamesAndKeepsTableCells) {
  const std::string md = report_markdown(hostile_results());
  // Outside code spans every < & [ is escaped; inside them, the text renders literally.
  const std::string text = outside_code(md);
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '<' && text[i] != '&') continue;
    EXPECT_EQ(text[i - 1], '\\') << text.substr(i > 20 ? i - 20 : 0, 40);
  }
  EXPECT_THAT(md, HasSubstr("k\\<b\\>\\&\"'\\|"));
  EXPECT_THAT(md, HasSubstr("`` k<b>.<script>alert(1)</script>\\|`x` ``"));
  // Overview rows keep their 10 cells, whatever the names hold.
  const auto rows = lines_with(md, "| k\\<b\\>");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(md_cells(rows[0]), 10) << rows[0];
  // Output rows keep their 13 cells although the output and the contract hold pipes and quotes.
  bool saw_output_row = false;
  for (const auto& l : lines_with(md, "`o\\|<i>x</i>`"))
    if (l.rfind("| ", 0) == 0 && l.find("c<&>") != std::string::npos) {
      saw_output_row = true;
      EXPECT_EQ(md_cells(l), 13) << l;
    }
  EXPECT_TRUE(saw_output_row) << md;
  EXPECT_THAT(md, HasSubstr("repro: `kcs run --case '<script>' \\| rm`"));
}

TEST(Report, EmptyResults) {
  const json j = reparse(results_json({}, "ci", "kcs run"));
  const std::string html = report_html(j);
  EXPECT_THAT(html, HasSubstr("<!DOCTYPE html>"));
  EXPECT_THAT(html, HasSubstr("No runs in these results"));
  EXPECT_THAT(html, HasSubstr("no runs"));
  expect_balanced(html);
  EXPECT_THAT(report_markdown(j), HasSubstr("No runs in these results"));
  EXPECT_THAT(summary_markdown(j), HasSubstr("No failures"));
  const json b = make_baseline(j);
  EXPECT_TRUE(b["entries"].empty());
  EXPECT_FALSE(compare_with_baseline(b, j).has_drift());
}

TEST(Report, RejectsWhatIsNotAResultsFile) {
  EXPECT_THROW(report_html(json::object()), Error);
  EXPECT_THROW(report_html(json{{"schema", 99}, {"runs", json::array()}, {"results", json::array()}}), Error);
  json missing_field = sweep();
  missing_field["runs"][0].erase("case");
  EXPECT_THROW(report_markdown(missing_field), Error);
}

TEST(Report, FailureWithNanValues) {
  CheckResult c = check("y", "max_ulp(1)", NAN, 0);
  c.passed = false;
  c.message = "y[0, 1]: nan where 0.5 expected";
  c.metrics.max_abs = NAN;
  c.metrics.max_rel = NAN;
  c.metrics.cosine = NAN;
  c.metrics.snr_db = NAN;
  c.metrics.mismatches = 3;
  c.metrics.mismatch_ratio = 3.0 / 64;
  c.metrics.ulp_hist = {61, 0, 0, 0, 0, 0, 0, 3};
  c.metrics.worst.push_back({{0, 1}, 0.5, NAN, NAN, 0});
  RunRecord r = run("nk", "nk.nan.rows=2", "avx2", "row_tile=3", {c});
  r.verdict = Verdict::failed;
  r.reason = "y: " + c.message;
  const json j = reparse(results_json({r}, "ci", "kcs run"));
  ASSERT_EQ(j["results"][0]["margin"], "nan");

  const std::string html = report_html(j);
  expect_balanced(html);
  EXPECT_THAT(html, HasSubstr("1 failed, 0 errors"));
  EXPECT_THAT(html, HasSubstr("id=\"failures\""));
  EXPECT_THAT(html, HasSubstr("kcs run --case nk.nan.rows=2 --backend avx2 --tile row_tile=3"));
  EXPECT_THAT(html, HasSubstr("y[0, 1]: nan where 0.5 expected"));
  EXPECT_THAT(html, HasSubstr(">nan<"));  // margin / errors shown as nan, not as a number
  EXPECT_THAT(html, HasSubstr("m-fail"));
  EXPECT_THAT(html, HasSubstr("nan ULP: 3 elements"));  // the NaN-mismatch bar of the histogram

  const std::string md = report_markdown(j);
  EXPECT_THAT(md, HasSubstr("## Failures"));
  EXPECT_THAT(md, HasSubstr("repro: `kcs run --case nk.nan.rows=2 --backend avx2 --tile row_tile=3`"));
  EXPECT_THAT(md, HasSubstr("margin nan"));
  EXPECT_THAT(md, HasSubstr("| nan | nan |"));  // max abs, max rel
  // The overview ranks a NaN margin as the worst: inf, FAILS.
  EXPECT_THAT(md, HasSubstr("| inf FAILS |"));
}

TEST(Report, SkippedVariantsShowTheirReason) {
  std::vector<RunRecord> runs = {run("q8", "q8.a", "reference", "row_tile=1", {check("codes", "exact", 0, 0)}),
                                 skipped("q8", "q8.a", "avx512", "row_tile=1", "needs avx512_vnni"),
                                 skipped("q8", "q8.b", "avx512", "row_tile=1", "needs avx512_vnni")};
  json j = reparse(results_json(runs, "ci", "kcs run"));
  j["machine"]["isa"]["avx512"] = {{"runnable", false}, {"reason", "needs avx512_vnni"}};
  const std::string html = report_html(j);
  EXPECT_THAT(html, HasSubstr("2 skipped: needs avx512_vnni"));
  EXPECT_THAT(html, HasSubstr("id=\"isa-table\""));
  EXPECT_THAT(html, HasSubstr("<td class=\"skip\">no</td><td>needs avx512_vnni</td>"));
  EXPECT_THAT(html, HasSubstr("<td class=\"n skip\">skipped</td>"));  // per-case table
  const std::string md = report_markdown(j);
  EXPECT_THAT(md, HasSubstr("| q8 | avx512 | 2 | 0 | 0 | 0 | 2 (needs avx512\\_vnni) | 0 | - | 0 |"));
  EXPECT_THAT(md, HasSubstr("- avx512: skipped, needs avx512\\_vnni (0 runs executed)"));
}

TEST(Report, ShowsMarginsHistogramsWorstElementsAndTiles) {
  const json j = sweep();
  const std::string html = report_html(j);
  expect_balanced(html);
  EXPECT_THAT(html, HasSubstr("id=\"overview-table\""));
  EXPECT_THAT(html, HasSubstr("Closest to the limit"));
  EXPECT_THAT(html, HasSubstr("title=\"near limit\">0.5<"));
  EXPECT_THAT(html, HasSubstr("<svg"));
  EXPECT_THAT(html, HasSubstr("1 ULP: 4 elements"));  // 4 checks of scale per backend, one 1-ULP element each
  EXPECT_THAT(html, HasSubstr("<code>[2, 5]</code>"));  // worst element index
  EXPECT_THAT(html, HasSubstr("max ULP / margin"));
  EXPECT_THAT(html, Not(HasSubstr("<script")));
  const std::string md = report_markdown(j);
  EXPECT_THAT(md, HasSubstr("| `scale` | optimized | `max_ulp(2)` | 4/4 | 2 | 0.5 near limit |"));
  EXPECT_THAT(md, HasSubstr("| `scale` | optimized | 252 | 4 | 0 | 0 | 0 | 0 | 0 | 0 |"));
  EXPECT_THAT(md, HasSubstr("\\[2, 5\\] expected 1.5, got 1.51 (1 ULP)"));
  EXPECT_THAT(md, HasSubstr("| `scale` | row\\_tile=16 | 1 / 0.5 | 1 / 0.5 |"));
}

TEST(Report, HairlineMarginsStandOut) {
  const json j = reparse(results_json({run("q8", "q8.a", "avx2", "row_tile=1", {check("s", "max_ulp(100)", 0.99, 99)})},
                                      "ci", "kcs run"));
  EXPECT_THAT(report_html(j), HasSubstr("title=\"passes by a hair\">0.99<"));
  EXPECT_THAT(report_markdown(j), HasSubstr("0.99 passes by a hair"));
}

TEST(Svg, HistogramHasEveryBucket) {
  const std::string svg = ulp_histogram_svg({100000, 10, 0, 0, 0, 0, 0, 2}, "t<&>");
  EXPECT_EQ(svg.rfind("<svg", 0), 0u);
  EXPECT_EQ(count(svg, "<rect"), static_cast<size_t>(kUlpBuckets));
  for (int b = 0; b < kUlpBuckets; ++b) EXPECT_THAT(svg, HasSubstr(html_escape(ulp_bucket_name(b)) + " ULP:"));
  EXPECT_THAT(svg, HasSubstr("t&lt;&amp;&gt;"));
  EXPECT_THAT(svg, HasSubstr(">100k<"));
  expect_balanced(svg);
}

// A large sweep stays a page of reasonable size; every failure is still listed on its own.
TEST(Report, LargeSweepAggregates) {
  std::vector<RunRecord> runs;
  int failures = 0;
  for (int c = 0; c < 60; ++c)
    for (const char* b : {"reference", "avx512", "avx2", "optimized"})
      for (int t = 0; t < 8; ++t) {
        const bool fail = std::string(b) == "avx2" && t == 3 && c % 3 == 0;
        failures += fail;
        runs.push_back(run("big", "big.case" + std::to_string(c), b, "tile=" + std::to_string(t),
                           {check("a", "max_ulp(4)", fail ? 2.0 : 0.25, fail ? 8 : 1), check("b", "exact", 0, 0),
                            check("invariant:x", "x holds", 0, 0, 0)}));
      }
  const json j = reparse(results_json(runs, "nightly", "kcs run"));
  ASSERT_EQ(j["runs"].size(), 1920u);
  const std::string html = report_html(j);
  EXPECT_LT(html.size(), 600u * 1024) << "a 1920-run sweep should aggregate";
  EXPECT_EQ(count(html, "class=\"failure\""), static_cast<size_t>(failures));
  EXPECT_EQ(count(html, "<svg"), 8u);  // 2 outputs with ULP data x 4 backends
  expect_balanced(html);
  HtmlOptions few;
  few.max_failures = 5;
  const std::string capped = report_html(j, nullptr, few);
  EXPECT_EQ(count(capped, "class=\"failure\""), 5u);
  EXPECT_THAT(capped, HasSubstr("and " + std::to_string(failures - 5) + " more failures"));
}

// ---- drift ----

std::vector<std::string> lines(const std::vector<DriftItem>& v) {
  std::vector<std::string> out;
  for (const auto& d : v) out.push_back(d.line());
  return out;
}

TEST(Drift, IdenticalResultsDoNotDrift) {
  const json j = sweep();
  const DriftReport d = compare_with_baseline(j, j);
  EXPECT_FALSE(d.has_drift()) << drift_text(d);
  EXPECT_TRUE(d.fresh.empty());
  EXPECT_TRUE(d.improved.empty());
  EXPECT_EQ(d.compared_runs, 8);
  EXPECT_EQ(d.compared_checks, 16);
  EXPECT_THAT(drift_text(d), HasSubstr("no drift"));
}

TEST(Drift, CompactBaselineGroupsVariantsAndRoundTrips) {
  const json j = sweep();
  const json b = json::parse(baseline_text(make_baseline(j)));
  ASSERT_TRUE(is_baseline(b));
  EXPECT_EQ(b["tier"], "ci");
  EXPECT_EQ(b["optimized_isa"], "avx512");
  ASSERT_EQ(b["entries"].size(), 2u);  // one per case: both tiles and both backends agree
  EXPECT_EQ(b["entries"][0]["backends"], (json{"optimized", "reference"}));
  EXPECT_EQ(b["entries"][0]["variants"], "*");  // every variant of the kernel
  EXPECT_EQ(b["variants"]["q8"], (json{"row_tile=1", "row_tile=16"}));
  EXPECT_EQ(b["contracts"]["q8"]["scale"], "max_ulp(2)");
  EXPECT_FALSE(b["entries"][0]["outputs"]["scale"].contains("contract"));  // the usual one
  const DriftReport d = compare_with_baseline(b, j);
  EXPECT_FALSE(d.has_drift()) << drift_text(d);
  EXPECT_EQ(d.compared_checks, 16);

  // An unusual contract, a failed output and a variant subset survive the round trip.
  json odd = j;
  result_of(odd, "q8.b.rows=5", "reference", "row_tile=1", "scale")["contract"] = "max_ulp(4)";
  result_of(odd, "q8.b.rows=5", "optimized", "row_tile=16", "codes")["verdict"] = "failed";
  run_of(odd, "q8.b.rows=5", "optimized", "row_tile=16")["verdict"] = "failed";
  const json ob = json::parse(baseline_text(make_baseline(odd)));
  EXPECT_EQ(ob["entries"].size(), 5u);
  EXPECT_FALSE(compare_with_baseline(ob, odd).has_drift()) << drift_text(compare_with_baseline(ob, odd));
  const DriftReport back = compare_with_baseline(ob, j);  // the fixed contract reads as a change
  ASSERT_EQ(back.drift.size(), 1u) << drift_text(back);
  EXPECT_EQ(back.drift[0].kind, "contract changed");
  EXPECT_EQ(lines(back.improved), (std::vector<std::string>{"now passes: q8.b.rows=5 optimized row_tile=16 codes"}));
  // One entry per line: a regenerated baseline diffs line by line.
  EXPECT_EQ(count(baseline_text(make_baseline(j)), "\n  {"), 2u);
}

TEST(Drift, OneWorsenedOutputIsNamed) {
  const json base = sweep();
  json cur = base;
  json& c = result_of(cur, "q8.b.rows=5", "optimized", "row_tile=16", "scale");
  c["metrics"]["max_ulp"] = 2;
  c["margin"] = 1.0;
  for (const json& b : {base, make_baseline(base)}) {
    const DriftReport d = compare_with_baseline(b, cur);
    ASSERT_EQ(d.drift.size(), 1u) << drift_text(d);
    EXPECT_EQ(d.drift[0].kind, "worse");
    EXPECT_EQ(d.drift[0].output, "scale");
    EXPECT_EQ(d.drift[0].line(),
              "worse: q8.b.rows=5 optimized row_tile=16 scale: max_ulp 1 -> 2, margin 0.5 -> 1");
  }
  const DriftReport d = compare_with_baseline(base, cur);
  EXPECT_THAT(report_html(cur, &d), HasSubstr("1 drifted vs baseline"));
  EXPECT_THAT(report_html(cur, &d), HasSubstr("max_ulp 1 -&gt; 2, margin 0.5 -&gt; 1"));
  EXPECT_THAT(report_markdown(cur, &d), HasSubstr("| worse | `q8.b.rows=5` | optimized | row\\_tile=16 | `scale` |"));
  EXPECT_THAT(drift_text(d), HasSubstr("DRIFT (1):\n  worse: q8.b.rows=5 optimized row_tile=16 scale"));
}

TEST(Drift, MismatchRatioAlone) {
  const json base = sweep();
  json cur = base;
  result_of(cur, "q8.a.rows=3", "reference", "row_tile=1", "scale")["metrics"]["mismatch_ratio"] = 0.5;
  const DriftReport d = compare_with_baseline(base, cur);
  ASSERT_EQ(d.drift.size(), 1u);
  EXPECT_THAT(d.drift[0].detail, HasSubstr("mismatch 1.56% -> 50%"));
}

TEST(Drift, NewFailureIsDriftEvenWithinTheSameUlp) {
  const json base = sweep();
  json cur = base;
  json& c = result_of(cur, "q8.a.rows=3", "optimized", "row_tile=1", "codes");
  c["verdict"] = "failed";
  c["margin"] = "inf";
  run_of(cur, "q8.a.rows=3", "optimized", "row_tile=1")["verdict"] = "failed";
  const DriftReport d = compare_with_baseline(base, cur);
  ASSERT_EQ(d.drift.size(), 1u) << drift_text(d);
  EXPECT_EQ(d.drift[0].kind, "new failure");
  EXPECT_EQ(d.drift[0].output, "codes");
  EXPECT_THAT(d.drift[0].detail, HasSubstr("margin 0 -> inf"));
}

TEST(Drift, DisappearedCase) {
  const json base = sweep();
  json cur = base;
  auto is_b = [](const json& x) { return x["case"] == "q8.b.rows=5"; };
  erase_if(cur["runs"], is_b);
  erase_if(cur["results"], is_b);
  const DriftReport d = compare_with_baseline(make_baseline(base), cur);
  ASSERT_EQ(lines(d.drift), (std::vector<std::string>{"case disappeared: q8.b.rows=5: no run of it in the results"}));
}

TEST(Drift, DisappearedKernel) {
  json base = sweep();
  std::vector<RunRecord> other = {run("k2", "k2.x", "reference", "t=1", {check("o", "exact", 0, 0)})};
  const json extra = reparse(results_json(other, "ci", ""));
  for (const auto& r : extra["runs"]) base["runs"].push_back(r);
  for (const auto& r : extra["results"]) base["results"].push_back(r);
  const DriftReport d = compare_with_baseline(base, sweep());
  ASSERT_EQ(d.drift.size(), 1u);
  EXPECT_EQ(d.drift[0].kind, "kernel disappeared");
  EXPECT_EQ(d.drift[0].kernel, "k2");
}

TEST(Drift, VariantThatStoppedRunning) {
  const json base = sweep();
  json skipped_now = base;
  json& r = run_of(skipped_now, "q8.a.rows=3", "optimized", "row_tile=16");
  r["verdict"] = "skipped";
  r["reason"] = "needs avx512f";
  erase_if(skipped_now["results"], [](const json& x) {
    return x["case"] == "q8.a.rows=3" && x["backend"] == "optimized" && x["tile"] == "row_tile=16";
  });
  DriftReport d = compare_with_baseline(base, skipped_now);
  ASSERT_EQ(lines(d.drift), (std::vector<std::string>{"variant skipped: q8.a.rows=3 optimized row_tile=16: ran in "
                                                      "the baseline, now skipped: needs avx512f"}));

  // Every variant of a case skipped for one reason: one item naming them.
  for (const char* t : {"row_tile=1", "row_tile=16"}) {
    json& s = run_of(skipped_now, "q8.b.rows=5", "optimized", t);
    s["verdict"] = "skipped";
    s["reason"] = "needs avx2";
  }
  erase_if(skipped_now["results"], [](const json& x) { return x["case"] == "q8.b.rows=5" && x["backend"] == "optimized"; });
  d = compare_with_baseline(make_baseline(base), skipped_now);
  ASSERT_EQ(d.drift.size(), 2u) << drift_text(d);
  EXPECT_EQ(d.drift[1].line(),
            "variant skipped: q8.b.rows=5 optimized: row_tile=1, row_tile=16 ran in the baseline, now skipped: needs avx2");

  json missing = base;
  erase_if(missing["runs"], [](const json& x) { return x["tile"] == "row_tile=16" && x["backend"] == "optimized"; });
  erase_if(missing["results"], [](const json& x) { return x["tile"] == "row_tile=16" && x["backend"] == "optimized"; });
  d = compare_with_baseline(make_baseline(base), missing);
  ASSERT_EQ(d.drift.size(), 2u) << drift_text(d);
  EXPECT_EQ(d.drift[0].line(), "variant missing: q8.a.rows=3 optimized row_tile=16: ran in the baseline, no run now");

  // A backend that stopped running a case altogether is one item.
  json no_opt = base;
  erase_if(no_opt["runs"], [](const json& x) { return x["backend"] == "optimized"; });
  erase_if(no_opt["results"], [](const json& x) { return x["backend"] == "optimized"; });
  d = compare_with_baseline(base, no_opt);
  ASSERT_EQ(d.drift.size(), 2u) << drift_text(d);
  EXPECT_EQ(d.drift[0].kind, "variant missing");
  EXPECT_THAT(d.drift[0].detail, HasSubstr("row_tile=1, row_tile=16"));
}

TEST(Drift, OutputMissingAndContractChanged) {
  const json base = sweep();
  json cur = base;
  erase_if(cur["results"], [](const json& x) {
    return x["case"] == "q8.a.rows=3" && x["backend"] == "reference" && x["tile"] == "row_tile=1" &&
           x["output"] == "scale";
  });
  result_of(cur, "q8.b.rows=5", "reference", "row_tile=1", "scale")["contract"] = "max_ulp(4)";
  const DriftReport d = compare_with_baseline(base, cur);
  ASSERT_EQ(d.drift.size(), 2u) << drift_text(d);
  EXPECT_EQ(d.drift[0].line(), "output missing: q8.a.rows=3 reference row_tile=1 scale: checked in the baseline, not now");
  EXPECT_EQ(d.drift[1].line(), "contract changed: q8.b.rows=5 reference row_tile=1 scale: 'max_ulp(2)' -> 'max_ulp(4)'");
}

TEST(Drift, NewKernelsAndCasesAreReportedNotDrift) {
  const json base = sweep();
  json cur = base;
  std::vector<RunRecord> extra = {run("q8", "q8.c.new", "reference", "row_tile=1", {check("codes", "exact", 0, 0)}),
                                  run("k9", "k9.x", "optimized", "t=1", {check("o", "exact", 0, 0)}),
                                  run("q8", "q8.a.rows=3", "avx2", "row_tile=1", {check("codes", "exact", 0, 0)})};
  const json e = reparse(results_json(extra, "ci", ""));
  for (const auto& r : e["runs"]) cur["runs"].push_back(r);
  for (const auto& r : e["results"]) cur["results"].push_back(r);
  DriftReport d = compare_with_baseline(make_baseline(base), cur);
  EXPECT_FALSE(d.has_drift()) << drift_text(d);
  EXPECT_EQ(lines(d.fresh), (std::vector<std::string>{"new kernel: k9", "new case: q8.c.new"}));
  EXPECT_THAT(drift_text(d), HasSubstr("not compared: backends avx2"));

  // ... but a new case that fails is drift.
  json failing = cur;
  result_of(failing, "q8.c.new", "reference", "row_tile=1", "codes")["verdict"] = "failed";
  d = compare_with_baseline(base, failing);
  ASSERT_EQ(d.drift.size(), 1u);
  EXPECT_EQ(d.drift[0].kind, "new failure");
  EXPECT_EQ(d.drift[0].output, "codes");
}

TEST(Drift, BetterIsImprovedNotDrift) {
  const json base = sweep();
  json cur = base;
  json& c = result_of(cur, "q8.a.rows=3", "optimized", "row_tile=1", "scale");
  c["metrics"]["max_ulp"] = 0;
  c["margin"] = 0;
  const DriftReport d = compare_with_baseline(base, cur);
  EXPECT_FALSE(d.has_drift());
  ASSERT_EQ(d.improved.size(), 1u);
  EXPECT_THAT(d.improved[0].detail, HasSubstr("max_ulp 1 -> 0"));
}

// The committed ci baseline is compared on CI machines with other ISAs: `optimized` metrics are
// then informational, `reference` stays strict, and verdicts count for both.
TEST(Drift, OptimizedOnAnotherIsaIsInformational) {
  const json base = sweep();
  json cur = with_machine(base, /*avx512=*/false);
  json& c = result_of(cur, "q8.a.rows=3", "optimized", "row_tile=1", "scale");
  c["metrics"]["max_ulp"] = 2;
  c["margin"] = 1.0;
  DriftReport d = compare_with_baseline(make_baseline(base), cur);
  EXPECT_FALSE(d.has_drift()) << drift_text(d);
  ASSERT_EQ(d.other_isa.size(), 1u);
  EXPECT_THAT(drift_text(d), HasSubstr("optimized ran avx2 here and avx512 in the baseline"));

  result_of(cur, "q8.a.rows=3", "reference", "row_tile=1", "scale")["metrics"]["max_ulp"] = 2;
  result_of(cur, "q8.a.rows=3", "optimized", "row_tile=16", "codes")["verdict"] = "failed";
  d = compare_with_baseline(base, cur);
  EXPECT_EQ(lines(d.drift),
            (std::vector<std::string>{"new failure: q8.a.rows=3 optimized row_tile=16 codes: passed in the baseline, "
                                      "fails now",
                                      "worse: q8.a.rows=3 reference row_tile=1 scale: max_ulp 1 -> 2"}));
}

TEST(Drift, MachineAndDateAreInformational) {
  const json base = sweep();
  json cur = base;
  cur["date"] = "2099-01-01T00:00:00Z";
  cur["machine"]["cpu"] = "Another CPU";
  cur["compiler"] = "clang 99";
  for (auto& r : cur["runs"]) r["seconds"] = 123.0;
  EXPECT_FALSE(compare_with_baseline(base, cur).has_drift());
}

TEST(Drift, TiersMustMatch) {
  EXPECT_THROW(compare_with_baseline(sweep("ci"), sweep("smoke")), Error);
  json bad = make_baseline(sweep());
  bad["version"] = 7;
  EXPECT_THROW(compare_with_baseline(bad, sweep()), Error);
}

}  // namespace
}  // namespace kcs
