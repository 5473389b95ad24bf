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
  EXPECT_THAT(summary_markdown(results_from_json(j, "j")), HasSubstr("No failures"));
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
  EXPECT_THAT(md, HasSubstr("kcs run --case nk.nan.rows=2 --backend avx2 --tile row_tile=3`"));
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
  EXPECT_THAT(md, HasSubstr("| q8 | avx512 | 2 | 0 | 0 | 0 | 2 (needs avx512\\_vnni) | 0 | - | - |"));
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

// amx gives avx512's bits by design: a baseline written on either machine stays strict on the other.
TEST(Drift, AmxAndAvx512AreComparedStrictly) {
  const json base = sweep();
  json cur = base;
  cur["machine"]["isa"]["amx"] = {{"runnable", true}, {"reason", ""}};
  json& c = result_of(cur, "q8.a.rows=3", "optimized", "row_tile=1", "scale");
  c["metrics"]["max_ulp"] = 2;
  c["margin"] = 1.0;
  const DriftReport d = compare_with_baseline(make_baseline(base), cur);
  EXPECT_TRUE(d.other_isa.empty()) << drift_text(d);
  EXPECT_EQ(lines(d.drift), (std::vector<std::string>{"worse: q8.a.rows=3 optimized row_tile=1 scale: max_ulp 1 -> 2, margin 0.5 -> 1"}));
  EXPECT_THAT(drift_text(d), HasSubstr("optimized ran amx here and avx512 in the baseline: the same bits by design"));
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

// ---- expectation lists (kcs run --expect): xfail and unsupported ----

// What kcs run writes for a backend with an expectation list: the xfail run happened and failed
// (its checks keep verdict "failed"; expectations.cc prefixes the reason), the unsupported one did
// not happen. The xfail run's outputs are worse than the passing work on purpose (codes margin inf,
// scale margin 0.75 at 3 ULP against 0.5 at 1 ULP), so that counting them would show.
RunRecord xfailed(RunRecord r, const std::string& why) {
  r.verdict = Verdict::xfail;
  r.reason = "expected failure: " + why + "; observed: " + r.reason;
  return r;
}

RunRecord unsupported(const std::string& kernel, const std::string& cs, const std::string& backend,
                      const std::string& tile, const std::string& reason) {
  RunRecord r = run(kernel, cs, backend, tile, {});
  r.verdict = Verdict::unsupported;
  r.reason = reason;
  return r;
}

std::vector<RunRecord> expectation_runs() {
  CheckResult bad = check("codes", "exact", INFINITY, 127);
  bad.passed = false;
  bad.message = "codes[0, 0]: 1 where 0 expected";
  return {run("q8", "q8.a", "reference", "row_tile=1", {check("codes", "exact", 0, 0), check("scale", "max_ulp(2)", 0, 0)}),
          run("q8", "q8.b", "reference", "row_tile=1", {check("codes", "exact", 0, 0), check("scale", "max_ulp(2)", 0, 0)}),
          run("q8", "q8.a", "plug", "row_tile=1", {check("codes", "exact", 0, 0), check("scale", "max_ulp(2)", 0.5, 1)}),
          xfailed(run("q8", "q8.b", "plug", "row_tile=1", {bad, check("scale", "max_ulp(2)", 0.75, 3)}),
                  "off-by-one in element 0 (https://example.org/1)"),
          unsupported("q8", "q8.ties", "plug", "row_tile=1", "no ties handling (https://example.org/2)"),
          skipped("q8", "q8.vnni", "plug", "row_tile=1", "needs avx512_vnni")};
}

json expectation_results(std::vector<RunRecord> extra = {}) {
  std::vector<RunRecord> runs = expectation_runs();
  for (auto& r : extra) runs.push_back(r);
  return reparse(results_json(runs, "ci", "kcs run --expect x.json"));
}

const OverviewRow& overview_row(const ReportModel& m, const std::string& k, const std::string& b) {
  for (const auto& o : m.overview)
    if (o.kernel == k && o.backend == b) return o;
  throw Error("no overview row " + k + " " + b);
}

TEST(Expectations, ModelCountsKnownFailuresApart) {
  const Results typed = results_from_json(expectation_results(), "results");
  const ReportModel m = build_model(typed);
  const OverviewRow& o = overview_row(m, "q8", "plug");
  EXPECT_EQ(o.runs, 4);
  EXPECT_EQ(o.passed, 1);
  EXPECT_EQ(o.failed, 0);
  EXPECT_EQ(o.errors, 0);
  EXPECT_EQ(o.skipped, 1);
  EXPECT_EQ(o.xfail, 1);
  EXPECT_EQ(o.unsupported, 1);
  EXPECT_EQ(o.xfail_reasons, (ReasonCounts{{"off-by-one in element 0 (https://example.org/1)", 1}}));
  EXPECT_EQ(o.unsupported_reasons, (ReasonCounts{{"no ties handling (https://example.org/2)", 1}}));
  EXPECT_EQ(o.skip_reasons, (ReasonCounts{{"needs avx512_vnni", 1}}));
  EXPECT_EQ(o.checks, 2);
  EXPECT_EQ(o.xfail_checks, 2);
  EXPECT_EQ(o.worst_margin, 0.5);  // not inf (the known failure) nor 0.75 (its passing output)
  EXPECT_EQ(o.max_ulp, 1);

  EXPECT_EQ(m.failed, 0);
  EXPECT_EQ(m.xfail, 1);
  EXPECT_EQ(m.unsupported, 1);
  EXPECT_EQ(m.skipped, 1);
  EXPECT_EQ(m.checks, 6);
  EXPECT_EQ(m.xfail_checks, 2);
  EXPECT_EQ(m.worst_margin, 0.5);
  EXPECT_TRUE(m.failures.empty());
  ASSERT_EQ(m.expected_failures.size(), 1u);
  EXPECT_EQ(m.expected_failures[0].run->case_id, "q8.b");
  ASSERT_EQ(m.expected_failures[0].checks.size(), 1u);  // its failed check only
  EXPECT_EQ(m.expected_failures[0].checks[0]->name, "codes");
  EXPECT_EQ(m.backend_runs.at("plug"), 2);  // passed + xfail ran; unsupported and skipped did not

  ASSERT_EQ(m.kernels.size(), 1u);
  const KernelView& kv = m.kernels[0];
  const OutputGroup& codes = kv.groups.at({"codes", "plug"});
  EXPECT_EQ(codes.checks, 1);
  EXPECT_EQ(codes.failed, 0);
  EXPECT_EQ(codes.xfail, 1);
  EXPECT_EQ(codes.worst_margin, 0);
  const OutputGroup& scale = kv.groups.at({"scale", "plug"});
  EXPECT_EQ(scale.worst_margin, 0.5);
  EXPECT_EQ(scale.max_ulp, 1);
  EXPECT_EQ(scale.cases, 1);
  int64_t elements = 0;
  for (int64_t n : scale.hist) elements += n;
  EXPECT_EQ(elements, 64);  // one check's elements: the xfail run's (with its 3-ULP one) are not summed
  ASSERT_TRUE(scale.worst);
  EXPECT_EQ(scale.worst.run->case_id, "q8.a");
  const Cell& tile = kv.tiles.at({"scale", "row_tile=1", "plug"});
  EXPECT_EQ(tile.worst_margin, 0.5);
  EXPECT_EQ(tile.xfail, 1);
  const CaseCell& xc = kv.case_cells.at({"q8.b", "plug"});
  EXPECT_EQ(xc.xfail, 1);
  EXPECT_EQ(xc.failed, 0);
  EXPECT_EQ(xc.checks, 0);
  EXPECT_EQ(kv.case_cells.at({"q8.ties", "plug"}).unsupported, 1);
  for (const auto& row : kv.closest) EXPECT_NE(row.check.run->case_id, "q8.b") << "a known failure is not 'passing work'";
}

TEST(Expectations, HtmlShowsKnownFailuresAmberNotRed) {
  const std::string html = report_html(expectation_results());
  expect_balanced(html);
  EXPECT_THAT(html, Not(HasSubstr("banner bad")));
  EXPECT_THAT(html, HasSubstr("<span class=\"banner ok\">no unexpected failures: 3 passed</span>"));
  EXPECT_THAT(html, HasSubstr("<span class=\"banner warn\">1 expected failure</span>"));
  EXPECT_THAT(html, HasSubstr("<span class=\"banner warn\">1 unsupported</span>"));
  EXPECT_THAT(html, HasSubstr("<span class=\"banner ok\">worst margin 0.5</span>"));
  // Overview: an expected-failures and an unsupported column, the reasons, checks without the xfail ones.
  EXPECT_THAT(html, HasSubstr("<th class=\"n\">expected failures</th><th class=\"n\">skipped</th>"
                              "<th class=\"n\">unsupported</th>"));
  EXPECT_THAT(html, HasSubstr("1 expected failure: off-by-one in element 0 (https://example.org/1)"));
  EXPECT_THAT(html, HasSubstr("1 unsupported: no ties handling (https://example.org/2)"));
  EXPECT_THAT(html, HasSubstr("<td class=\"n\">2 (+2 xfail)</td>"));
  // Output table: codes on plug is amber xfail, not a red failed badge.
  EXPECT_THAT(html, HasSubstr("<span class=\"banner warn\">xfail</span>"));
  EXPECT_THAT(html, Not(HasSubstr("\">failed</span>")));
  EXPECT_THAT(html, HasSubstr("1/1 (+1 xfail)"));
  // Per-case cells.
  EXPECT_THAT(html, HasSubstr("<td class=\"n m-xfail\">&mdash; (1/1 xfail)</td>"));
  EXPECT_THAT(html, HasSubstr("<td class=\"n skip\">unsupported</td>"));
  // Failures: none; the expected failure has its own section, with the run's reason and repro line.
  EXPECT_THAT(html, HasSubstr("<span class=\"banner ok\">no failures</span>"));
  EXPECT_EQ(count(html, "class=\"failure\""), 0u);
  EXPECT_THAT(html, HasSubstr("<section id=\"expected-failures\"><h2>Expected failures</h2>"));
  EXPECT_THAT(html, HasSubstr("<a href=\"#expected-failures\">"));
  EXPECT_EQ(count(html, "<tr class=\"m-xfail\">"), 1u);
  EXPECT_THAT(html, HasSubstr("<td>expected failure: off-by-one in element 0 (https://example.org/1); observed: codes:"));
  EXPECT_THAT(html, HasSubstr("<td><code>codes (inf)</code></td>"));
  EXPECT_THAT(html, HasSubstr("kcs run --case q8.b --backend plug --tile row_tile=1"));
  EXPECT_LT(html.find("id=\"failures\""), html.find("id=\"expected-failures\""));
}

TEST(Expectations, MarkdownAndConsoleAgree) {
  const json j = expectation_results();
  const std::string md = report_markdown(j);
  EXPECT_THAT(md, HasSubstr("6 runs (3 passed, 0 failed, 0 errors, 1 skipped, 1 expected failures, 1 unsupported), "
                            "6 checks (+2 of expected failures), worst margin 0.5."));
  const auto rows = lines_with(md, "| q8 | plug |");
  ASSERT_FALSE(rows.empty());
  EXPECT_EQ(rows[0], "| q8 | plug | 4 | 1 | 0 | 0 | 1 | 1 (needs avx512\\_vnni) | 1 | 2 (+2 xfail) | 0.5 near limit | 1 |");
  EXPECT_EQ(md_cells(rows[0]), 12);
  EXPECT_EQ(md_cells(lines_with(md, "| q8 | reference |")[0]), 12);
  EXPECT_THAT(md, HasSubstr("| q8 | plug | xfail | 1 | off-by-one in element 0 (https://example.org/1) |"));
  EXPECT_THAT(md, HasSubstr("| q8 | plug | unsupported | 1 | no ties handling (https://example.org/2) |"));
  EXPECT_THAT(md, HasSubstr("| `codes` | plug | `exact` | 1/1 (+1 xfail) | 1 | 0 exact |"));
  EXPECT_THAT(md, HasSubstr("| `scale` | plug | `max_ulp(2)` | 1/1 (+1 xfail) | 1 | 0.5 near limit |"));
  EXPECT_THAT(md, HasSubstr("| `scale` | row\\_tile=1 | 0 / 0 | 1 / 0.5 (+1 xfail) |"));
  EXPECT_THAT(md, HasSubstr("No failures."));
  EXPECT_THAT(md, Not(HasSubstr("## Failures")));
  EXPECT_THAT(md, HasSubstr("## Expected failures\n"));
  EXPECT_THAT(md, HasSubstr("- **xfail** `q8.b` on plug (row\\_tile=1): expected failure: off-by-one in element 0"));
  EXPECT_THAT(md, HasSubstr("kcs run --case q8.b --backend plug --tile row_tile=1`"));

  // The terminal table: the known failure does not raise the margin; the note counts it.
  const std::string table = summary_table(j);
  const auto plug = lines_with(table, "q8           plug");
  ASSERT_EQ(plug.size(), 1u) << table;
  EXPECT_THAT(plug[0], HasSubstr("     4      1      0      0       1      0.5  1 xfail, 1 unsupported; skipped: "
                                 "needs avx512_vnni"));
  const std::vector<SummaryRow> s = summarize(results_from_json(j, "j"));
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[1].worst_margin, 0.5);
  EXPECT_EQ(s[1].xfail, 1);
  EXPECT_EQ(s[1].unsupported, 1);
  // A backend with no check that counts shows no margin rather than an "exact" 0.
  const std::string none = summary_table(expectation_results({unsupported("q8", "q8.a", "gpu", "row_tile=1", "no")}));
  EXPECT_THAT(none, HasSubstr("q8           gpu             1      0      0      0       0        -  1 unsupported\n"));
}

// An unexpected pass (an xfail entry whose case now passes) arrives as verdict failed: red.
TEST(Expectations, UnexpectedPassAndRealFailuresStayRed) {
  RunRecord up = run("q8", "q8.c", "plug", "row_tile=1", {check("codes", "exact", 0, 0)});
  up.verdict = Verdict::failed;
  up.reason = "unexpected pass: expected to fail (off-by-one); remove the entry 'q8.c' from x.json";
  CheckResult bad = check("codes", "exact", 2, 2);
  RunRecord real = run("q8", "q8.d", "plug", "row_tile=1", {bad});
  const Results j = results_from_json(expectation_results({up, real}), "j");
  const ReportModel m = build_model(j);
  ASSERT_EQ(m.failures.size(), 2u);
  EXPECT_EQ(m.expected_failures.size(), 1u);
  EXPECT_EQ(m.worst_margin, 2);  // a real failure raises the worst margin
  const std::string html = report_html(j);
  expect_balanced(html);
  EXPECT_THAT(html, HasSubstr("<span class=\"banner bad\">2 failed, 0 errors</span>"));
  EXPECT_THAT(html, HasSubstr("<span class=\"banner warn\">1 expected failure</span>"));
  EXPECT_EQ(count(html, "class=\"failure\""), 2u);
  EXPECT_EQ(count(html, "<tr class=\"m-xfail\">"), 1u);
  EXPECT_THAT(html, HasSubstr("unexpected pass: expected to fail (off-by-one)"));
  const std::string md = report_markdown(j);
  EXPECT_THAT(md, HasSubstr("## Failures"));
  EXPECT_THAT(md, HasSubstr("- **failed** `q8.c` on plug (row\\_tile=1): unexpected pass"));
  EXPECT_EQ(lines_with(md, "- **xfail**").size(), 1u);
}

// Results without expectation verdicts keep the columns they always had.
TEST(Expectations, NoExtraColumnsWithoutThem) {
  const std::string html = report_html(sweep());
  EXPECT_THAT(html, Not(HasSubstr("expected failures")));
  EXPECT_THAT(html, Not(HasSubstr("unsupported")));
  const std::string md = report_markdown(sweep());
  EXPECT_THAT(md, HasSubstr("| kernel | backend | runs | passed | failed | errors | skipped | checks |"));
  EXPECT_THAT(md, Not(HasSubstr("xfail")));
}

// Drift: the baseline judges outcomes; an expectation list does not excuse a regression against it.
TEST(Expectations, DriftComparesXfailAsFailedAndUnsupportedAsSkipped) {
  const json j = expectation_results();
  for (const json& b : {j, make_baseline(j)}) {
    const DriftReport same = compare_with_baseline(b, j);
    EXPECT_FALSE(same.has_drift()) << drift_text(same);
  }
  EXPECT_EQ(make_baseline(j)["entries"].size(), 6u);

  // plug passed q8.b and ran q8.ties in the baseline; now q8.b is a known failure and q8.ties unsupported.
  json base = j;
  json& r = run_of(base, "q8.b", "plug", "row_tile=1");
  r["verdict"] = "passed";
  r.erase("reason");
  json& c = result_of(base, "q8.b", "plug", "row_tile=1", "codes");
  c["verdict"] = "passed";
  c["margin"] = 0;
  c["metrics"]["max_ulp"] = 0;
  result_of(base, "q8.b", "plug", "row_tile=1", "scale")["margin"] = 0.75;
  json& t = run_of(base, "q8.ties", "plug", "row_tile=1");
  t["verdict"] = "passed";
  t.erase("reason");
  for (const char* out : {"codes", "scale"})
    base["results"].push_back({{"kernel", "q8"}, {"case", "q8.ties"}, {"backend", "plug"}, {"tile", "row_tile=1"},
                               {"threads", 1}, {"output", out}, {"contract", "exact"}, {"verdict", "passed"},
                               {"margin", 0}, {"metrics", {{"max_ulp", 0}}}});
  const DriftReport d = compare_with_baseline(make_baseline(base), j);
  EXPECT_EQ(lines(d.drift),
            (std::vector<std::string>{
                "new failure: q8.b plug row_tile=1 codes: passed in the baseline, fails now: max_ulp 0 -> 127, margin "
                "0 -> inf",
                "variant unsupported: q8.ties plug row_tile=1: ran in the baseline, now unsupported: no ties handling "
                "(https://example.org/2)"}))
      << drift_text(d);

  // The other way round: the known failure got fixed (now passes) and the case runs again.
  const DriftReport back = compare_with_baseline(make_baseline(j), base);
  EXPECT_FALSE(back.has_drift()) << drift_text(back);
  EXPECT_EQ(lines(back.improved),
            (std::vector<std::string>{"now passes: q8.b plug row_tile=1 codes: max_ulp 127 -> 0, margin inf -> 0",
                                      "now runs: q8.ties plug row_tile=1: was unsupported: no ties handling "
                                      "(https://example.org/2)"}))
      << drift_text(back);
}

}  // namespace
}  // namespace kcs
