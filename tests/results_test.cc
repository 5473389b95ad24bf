// Results files: the bounded JSON reader, the JSON Lines writer (incremental, compact, resumable,
// locked), reading both formats into the typed model, and sound merging of shards.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "conformance/runner/json_input.h"
#include "conformance/runner/results.h"
#include "conformance/runner/results_merge.h"
#include "conformance/runner/results_model.h"
#include "conformance/runner/results_writer.h"
#include "kcs/status.h"
#include "reports/baseline.h"
#include "reports/html.h"
#include "reports/summary.h"

namespace kcs {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

struct TempDir {
  fs::path dir;
  TempDir() {
    char tmpl[] = "/tmp/kcs_results_test.XXXXXX";
    dir = mkdtemp(tmpl);
  }
  ~TempDir() { fs::remove_all(dir); }
  std::string operator/(const std::string& name) const { return (dir / name).string(); }
};

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void spit(const std::string& path, const std::string& text) { std::ofstream(path, std::ios::binary) << text; }

CheckResult check(const std::string& name, double margin, int64_t ulp, bool passed = true) {
  CheckResult c;
  c.name = name;
  c.contract = "max_ulp(4)";
  c.passed = passed;
  c.margin = margin;
  c.message = passed ? "" : name + "[0]: off";
  c.metrics.numel = 64;
  c.metrics.max_ulp = ulp;
  c.metrics.mismatches = ulp ? 3 : 0;
  c.metrics.mismatch_ratio = ulp ? 3.0 / 64 : 0;
  c.metrics.max_abs = ulp * 0.125;
  c.metrics.max_rel = ulp * 0.01;
  c.metrics.ulp_hist[0] = ulp ? 61 : 64;
  if (ulp) c.metrics.ulp_hist[static_cast<size_t>(ulp_bucket(ulp))] = 3;
  c.metrics.cosine = ulp ? 0.999 : 1;
  c.metrics.snr_db = ulp ? 60.5 : INFINITY;
  if (ulp) {
    c.metrics.worst.push_back({{1, 2}, 1.5, 1.5 + c.metrics.max_abs, c.metrics.max_abs, ulp});
    c.metrics.worst_row = 1;
    c.metrics.worst_row_max_ulp = ulp;
  }
  return c;
}

RunRecord run(const std::string& cs, const std::string& backend, const std::string& tile,
              std::vector<CheckResult> checks) {
  RunRecord r;
  r.kernel = "q8";
  r.case_id = cs;
  r.backend = backend;
  r.tile = tile;
  r.checks = std::move(checks);
  r.verdict = Verdict::passed;
  for (const auto& c : r.checks)
    if (!c.passed) r.verdict = Verdict::failed, r.reason = c.name + ": " + c.message;
  r.repro = repro_command(cs, backend, tile, 1);
  r.seconds = 0.01;
  return r;
}

// A sweep with passing checks of growing error, an exact output, and one failure.
std::vector<RunRecord> sweep() {
  std::vector<RunRecord> out;
  int i = 0;
  for (const char* cs : {"q8.a", "q8.b", "q8.c"})
    for (const char* b : {"reference", "avx2"})
      for (const char* t : {"row_tile=1", "row_tile=16"}) {
        const int64_t ulp = ((i / 2) * 7) % 4;  // pairs of runs agree, as tiles usually do
        out.push_back(run(cs, b, t, {check("codes", 0, 0), check("scale", ulp / 4.0, ulp)}));
        ++i;
      }
  out.push_back(run("q8.d", "avx2", "row_tile=1", {check("codes", 0, 0), check("scale", 2.5, 10, false)}));
  return out;
}

ResultsHeader header(const std::vector<RunRecord>& runs, int shard = 0, int shards = 1) {
  std::vector<std::string> planned;
  for (const auto& r : runs)
    if (planned.empty() || planned.back() != r.case_id) planned.push_back(r.case_id);
  return make_header("ci", "kcs run --tier ci", shard, shards, {"reference", "avx2"}, planned);
}

std::string write_sweep(const std::string& path, const std::vector<RunRecord>& runs, bool finish = true) {
  ResultsWriter w(path, header(runs));
  for (const auto& r : runs) w.append(r);
  if (finish) w.finish();
  return path;
}

// ---- Bounded JSON input ----

TEST(JsonInput, DeepNestingIsAClearErrorNotAStackOverflow) {
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  try {
    parse_json_bounded(deep, "deep.json");
    FAIL() << "accepted a 100k-deep file";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("deep.json nests JSON deeper than 64 levels"));
  }
  TempDir t;
  spit(t / "deep.json", "{\"schema\": 1, \"runs\": " + deep + "}");
  EXPECT_THROW(read_json_file(t / "deep.json"), Error);
  EXPECT_THROW(read_results_file(t / "deep.json"), Error);
  // A JSON Lines results file with one deep line.
  spit(t / "deep.jsonl", header_line(header(sweep())).dump() + "\n" + deep + "\n");
  EXPECT_THROW(read_results_file(t / "deep.jsonl"), Error);
}

TEST(JsonInput, BracketsInsideStringsDoNotCount) {
  const std::string text = "{\"a\": \"" + std::string(1000, '[') + "\\\"{\"}";
  EXPECT_EQ(parse_json_bounded(text, "s").at("a").get<std::string>().size(), 1002u);
}

TEST(JsonInput, SizeLimit) {
  TempDir t;
  spit(t / "big.json", "[" + std::string(5000, ' ') + "]");
  JsonLimits small;
  small.max_bytes = 1000;
  try {
    read_json_file(t / "big.json", small);
    FAIL();
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("more than the limit of 1000"));
  }
  EXPECT_NO_THROW(read_json_file(t / "big.json"));
  EXPECT_THROW(read_json_file(t / "missing.json"), Error);
  EXPECT_THROW(read_json_file(t.dir.string()), Error);  // a directory
}

// ---- Writer and reader ----

TEST(ResultsWriter, RoundTripsAndKeepsFullMetricsOnlyWhereTheReportNeedsThem) {
  TempDir t;
  const auto runs = sweep();
  const Results r = read_results_file(write_sweep(t / "r.jsonl", runs));
  EXPECT_TRUE(r.header.complete);
  EXPECT_EQ(r.header.tier, "ci");
  EXPECT_EQ(r.header.planned, (std::vector<std::string>{"q8.a", "q8.b", "q8.c", "q8.d"}));
  ASSERT_EQ(r.runs.size(), runs.size());
  size_t full = 0, compact = 0;
  for (size_t i = 0; i < runs.size(); ++i) {
    const ResultRun& got = r.runs[i];
    EXPECT_EQ(got.case_id, runs[i].case_id);
    EXPECT_EQ(got.kernel, "q8");
    EXPECT_EQ(got.repro, runs[i].repro);
    EXPECT_EQ(got.verdict, verdict_name(runs[i].verdict));
    ASSERT_EQ(got.checks.size(), runs[i].checks.size());
    for (size_t c = 0; c < got.checks.size(); ++c) {
      const CheckResult &a = got.checks[c], &b = runs[i].checks[c];
      EXPECT_EQ(a.passed, b.passed);
      EXPECT_EQ(a.margin, b.margin);
      EXPECT_EQ(a.metrics.max_ulp, b.metrics.max_ulp);
      EXPECT_EQ(a.metrics.ulp_hist, b.metrics.ulp_hist);
      EXPECT_EQ(a.metrics.cosine, b.metrics.cosine);
      EXPECT_EQ(a.metrics.snr_db, b.metrics.snr_db);
      EXPECT_EQ(a.metrics.mismatch_ratio, b.metrics.mismatch_ratio);
      if (got.full[c]) {
        ++full;
        EXPECT_EQ(a.metrics.worst.size(), b.metrics.worst.size());
        EXPECT_EQ(a.metrics.worst_row, b.metrics.worst_row);
      } else {
        ++compact;
        EXPECT_TRUE(a.passed) << "a failed check is always full";
        EXPECT_TRUE(a.metrics.worst.empty());
      }
    }
  }
  EXPECT_GT(compact, full) << "passing checks must be compact";
  EXPECT_THAT(slurp(t / "r.jsonl"), HasSubstr("\"same_as\":"));
  EXPECT_TRUE(r.runs.back().full[1]) << "the failure keeps its worst elements";
}

// The report of the compact file is the report of the same sweep written in full (schema 1).
TEST(ResultsWriter, ReportOfCompactFileEqualsReportOfFullFile) {
  TempDir t;
  const auto runs = sweep();
  const Results lines = read_results_file(write_sweep(t / "r.jsonl", runs));
  nlohmann::json old = results_json(runs, "ci", "kcs run --tier ci");
  old["date"] = lines.header.date;
  old["machine"] = lines.header.machine;
  const Results full = results_from_json(nlohmann::json::parse(old.dump()), "old");
  EXPECT_EQ(report_markdown(lines), report_markdown(full));
  EXPECT_EQ(report_html(lines), report_html(full));
  EXPECT_EQ(baseline_text(make_baseline(lines)), baseline_text(make_baseline(full)));
  // The worst elements of a passing worst case (kept full although it passed) are there.
  EXPECT_THAT(report_markdown(lines), HasSubstr(R"(`q8.b` row\_tile=1: \[1, 2\] expected 1.5, got 1.75 (2 ULP))"));
}

TEST(ResultsWriter, AKilledSweepKeepsFinishedRunsAndResumes) {
  TempDir t;
  const auto runs = sweep();
  const std::string path = t / "r.jsonl";
  {
    ResultsWriter w(path, header(runs));
    for (size_t i = 0; i < 5; ++i) w.append(runs[i]);
    // No finish(): as if killed. Then a line cut in the middle of a write.
  }
  { std::ofstream(path, std::ios::app) << "{\"case\":\"q8.c\",\"backe"; }
  const Results partial = read_results_file(path);
  EXPECT_FALSE(partial.header.complete);
  EXPECT_EQ(partial.runs.size(), 5u);

  ResultsWriter w(path, header(runs), /*resume=*/true);
  EXPECT_EQ(w.resumed_runs(), 5u);
  size_t ran = 0;
  for (const auto& r : runs)
    if (!w.recorded(r.kernel, r.case_id, r.backend, r.tile, r.threads)) w.append(r), ++ran;
  w.finish();
  EXPECT_EQ(ran, runs.size() - 5);
  const Results done = read_results_file(path);
  EXPECT_TRUE(done.header.complete);
  ASSERT_EQ(done.runs.size(), runs.size());
  const Results whole = read_results_file(write_sweep(t / "whole.jsonl", runs));
  EXPECT_EQ(report_markdown(done).substr(300), report_markdown(whole).substr(300));  // past the date line
}

TEST(ResultsWriter, ResumeRefusesAnotherSweepsFile) {
  TempDir t;
  const auto runs = sweep();
  write_sweep(t / "r.jsonl", runs, false);
  ResultsHeader other = header(runs);
  other.tier = "nightly";
  EXPECT_THROW(ResultsWriter(t / "r.jsonl", other, true), OutputError);
  other = header(runs);
  other.planned.pop_back();
  EXPECT_THROW(ResultsWriter(t / "r.jsonl", other, true), OutputError);
  spit(t / "old.json", results_json(runs, "ci", "x").dump());
  EXPECT_THROW(ResultsWriter(t / "old.json", header(runs), true), OutputError);
}

TEST(ResultsWriter, TwoWritersCannotShareAFileOrDirectory) {
  TempDir t;
  ResultsWriter a(t / "r.jsonl", header(sweep()));
  EXPECT_THROW(ResultsWriter(t / "r.jsonl", header(sweep())), OutputError);
  DirLock d(t / "out");
  EXPECT_THROW(DirLock(t / "out"), OutputError);
}

TEST(ResultsWriter, UnwritablePathsAreRefusedUpFront) {
  TempDir t;
  spit(t / "file", "x");
  EXPECT_THROW(check_writable(t / "file/sub/results.jsonl"), OutputError);
  EXPECT_THROW(ResultsWriter(t / "file/results.jsonl", header(sweep())), OutputError);
  EXPECT_THROW(DirLock(t / "file/out"), OutputError);
  EXPECT_THROW(check_writable(t.dir.string()), OutputError);  // a directory where a file goes
  check_writable(t / "ok/results.jsonl");
  for (const auto& e : fs::directory_iterator(t / "ok")) ADD_FAILURE() << "probe left behind: " << e.path();
}

TEST(ResultsWriter, TruncatedOrCorruptFilesAreErrors) {
  TempDir t;
  const std::string path = write_sweep(t / "r.jsonl", sweep());
  std::string text = slurp(path);
  // A corrupt line in the middle is not a cut tail.
  const size_t second = text.find('\n') + 1;
  spit(t / "bad.jsonl", text.substr(0, second) + "{\"case\": 3}\n" + text.substr(second));
  EXPECT_THROW(read_results_file(t / "bad.jsonl"), Error);
  // An end line that counts other runs than the file holds.
  const size_t third = text.find('\n', second) + 1;
  spit(t / "short.jsonl", text.substr(0, second) + text.substr(third));
  EXPECT_THROW(read_results_file(t / "short.jsonl"), Error);
}

// "same_as" copies checks: a short file cannot expand without bound.
TEST(ResultsModel, CopiedChecksAreBounded) {
  TempDir t;
  const auto runs = sweep();
  std::string text = slurp(write_sweep(t / "r.jsonl", runs, false));
  for (int i = 0; i < 100; ++i) text += R"({"case":"q8.a","backend":"x","tile":"t)" + std::to_string(i) +
                                        R"(","verdict":"passed","same_as":0})" "\n";
  EXPECT_NO_THROW(parse_results_text(text, "r"));
  try {
    parse_results_text(text, "r", 100);
    FAIL() << "no bound on copied checks";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("more than 100 checks in one results file"));
  }
}

// A verdict this version does not know (a newer sweep's crashed / timeout / flaky) is never a pass.
TEST(ResultsModel, UnknownVerdictsCountAsErrors) {
  TempDir t;
  std::vector<RunRecord> runs = sweep();
  runs.resize(2);
  const std::string path = write_sweep(t / "r.jsonl", runs);
  std::string text = slurp(path);
  const size_t at = text.find("\"verdict\":\"passed\"");
  ASSERT_NE(at, std::string::npos);
  text.replace(at, 18, "\"verdict\":\"crashed\",\"reason\":\"SIGSEGV\"");
  spit(path, text);
  const Results r = read_results_file(path);
  EXPECT_TRUE(verdict_fails(r.runs[0].verdict));
  const std::string md = report_markdown(r);
  EXPECT_THAT(md, HasSubstr("1 errors"));
  EXPECT_THAT(md, HasSubstr("- **crashed** `q8.a`"));
  EXPECT_THAT(summary_table(r), HasSubstr("     2      1      0      1"));
}

// ---- Merging ----

TEST(ResultsMerge, RefusesTheSameFileTwice) {
  TempDir t;
  const Results r = read_results_file(write_sweep(t / "r.jsonl", sweep()));
  try {
    merge_results({r, r}, {"a.jsonl", "a.jsonl"});
    FAIL() << "merged duplicates";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("is in a.jsonl and in a.jsonl"));
  }
}

TEST(ResultsMerge, ShardsJoinAndMissingOnesAreNamed) {
  TempDir t;
  const auto runs = sweep();
  std::vector<RunRecord> s0, s1;
  for (const auto& r : runs) (r.case_id == "q8.a" || r.case_id == "q8.c" ? s0 : s1).push_back(r);
  auto shard = [&](const std::vector<RunRecord>& rs, int i, const std::string& name) {
    ResultsWriter w(t / name, header(runs, i, 2));  // planned: the cases of every shard
    for (const auto& r : rs) w.append(r);
    w.finish();
    return read_results_file(t / name);
  };
  const Results a = shard(s0, 0, "s0"), b = shard(s1, 1, "s1");
  const MergedResults m = merge_results({a, b}, {"s0", "s1"});
  EXPECT_TRUE(m.missing.empty());
  EXPECT_TRUE(m.results.header.complete);
  EXPECT_EQ(m.results.runs.size(), runs.size());

  const MergedResults only = merge_results({a}, {"s0"});
  ASSERT_EQ(only.missing.size(), 2u);
  EXPECT_THAT(only.missing[0], HasSubstr("shard 1/2 is missing"));
  EXPECT_THAT(only.missing[1], HasSubstr("2 of 4 planned cases have no run (first: q8.b)"));
  EXPECT_FALSE(only.results.header.complete);

  EXPECT_THROW(merge_results({a, a}, {"s0", "s0 again"}), Error);  // the same shard twice
  Results c = b;
  c.header.shard_count = 3;
  EXPECT_THROW(merge_results({a, c}, {"s0", "c"}), Error);
  c = b;
  c.header.tier = "smoke";
  EXPECT_THROW(merge_results({a, c}, {"s0", "c"}), Error);
  c = b;
  c.header.complete = false;
  c.runs.pop_back();
  const MergedResults cut = merge_results({a, c}, {"s0", "cut"});
  ASSERT_FALSE(cut.missing.empty());
  EXPECT_THAT(cut.missing[0], HasSubstr("cut: the sweep was interrupted"));
}

TEST(ResultsMerge, MergedFileWrittenAndReadBack) {
  TempDir t;
  const auto runs = sweep();
  const Results r = read_results_file(write_sweep(t / "r.jsonl", runs));
  write_results_file(t / "m.jsonl", r);
  const Results back = read_results_file(t / "m.jsonl");
  EXPECT_TRUE(back.header.complete);
  EXPECT_EQ(report_markdown(back), report_markdown(r));
}

}  // namespace
}  // namespace kcs
