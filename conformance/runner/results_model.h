// The typed results model: what a results file holds, read once into structs (runs with their
// checks and metrics) that the reports, the baseline and `kcs merge` use. Two file formats are
// read: the JSON Lines format that `kcs run` writes as it goes (results_writer.h), and the single
// JSON object of schema 1 that earlier versions wrote ("runs" + "results").
//
// JSON Lines format (docs/results.md): a header line {"kcs_results": 2, ...}, one line per run
// with its checks, and an end line {"end": {"runs": N}} once the sweep finished. A passing check
// is compact (no worst elements, no worst row, metrics at their defaults left out); a failed
// check, and a check that was the worst of its kernel x backend x output so far when it was
// written, carry full metrics. The report's worst case of a group is always such a check.
// A run whose compact checks equal those of an earlier run of the same case (most tiles and
// backends agree bit for bit) says "same_as": <that run's ordinal> instead of repeating them.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "kcs/check.h"

namespace kcs {

constexpr int kResultsLinesSchema = 2;

struct ResultsHeader {
  std::string kcs_version, spec_version, compiler, date, tier, command;
  nlohmann::json machine = nlohmann::json::object();  // machine_json(): small, shown as is
  int shard_index = 0, shard_count = 1;
  std::vector<std::string> backends;  // in sweep order; empty when unknown (schema 1, kcs check)
  std::vector<std::string> planned;   // case ids of the whole sweep (every shard), in order; empty when unknown
  bool complete = true;               // false: no end line (the sweep was interrupted)
  std::vector<std::string> sources;   // files merged into this one
};

struct ResultRun {
  std::string kernel, case_id, backend, tile;
  int threads = 1;
  std::string verdict;  // verdict_name() of the run; kept as text so new verdicts read back as they are
  std::string reason, repro;
  double seconds = 0;
  std::vector<CheckResult> checks;
  std::vector<bool> full;  // per check: full metrics recorded (else compact)
  bool listed = true;      // false: checks of a schema-1 file whose run is not in "runs"
};

struct Results {
  ResultsHeader header;
  std::vector<ResultRun> runs;
};

// A run verdict that fails a sweep: failed, error, and any verdict this version does not know
// (a newer kcs's crashed / timeout / flaky read by an older report must not pass).
bool verdict_fails(const std::string& verdict);
// The verdict of a run that differs from the reference on a case outside the kernel's contract
// (conformance/runner/outside_contract.h): neither a pass nor a failure.
inline constexpr const char* kOutsideContractDiffers = "outside_contract_differs";
// xfail and outside_contract_differs: runs whose checks are counted apart (they take no part in a
// worst margin, a max ULP or the drift of the work that passes).
bool verdict_counted_apart(const std::string& verdict);
// Neither passed nor failed nor a skip: error, or a verdict this version does not know.
bool verdict_is_error(const std::string& verdict);

// The run variant inside a case: the tile config, plus " threads=N" when N != 1.
std::string variant_name(const std::string& tile, int threads);
inline std::string variant_name(const ResultRun& r) { return variant_name(r.tile, r.threads); }
// kernel \t case \t backend \t tile \t threads: one run of a sweep.
std::string run_key(const ResultRun& r);

// Ordering of checks by badness: margin (NaN ranks as +inf), then max ULP, then max abs error
// (NaN worst). The report's worst case of a group is the first check no later one beats.
bool check_worse(const CheckResult& a, const CheckResult& b);
double margin_rank(double margin);  // NaN -> +inf

// One run as a JSON Lines record; `full[i]` says whether check i keeps its full metrics.
// same_as >= 0: the checks are those of that earlier run (its ordinal in the file), left out here.
nlohmann::json run_line(const ResultRun& r, const std::vector<bool>& full, int64_t same_as = -1);
nlohmann::json checks_json(const ResultRun& r, const std::vector<bool>& full);
nlohmann::json header_line(const ResultsHeader& h);
// `earlier`: the runs read before this one (for "same_as").
ResultRun run_from_line(const nlohmann::json& j, const std::string& what, const std::vector<ResultRun>& earlier);
ResultsHeader header_from_line(const nlohmann::json& j, const std::string& what);

// A schema-1 object ("runs" + "results"); throws kcs::Error naming `what` on a malformed one.
Results results_from_json(const nlohmann::json& j, const std::string& what);
bool is_results_lines(const std::string& text);  // the first line is a kcs_results header

// Reads either format through the bounded JSON reader. A JSON Lines file without its end line
// reads with header.complete = false; its last line may be cut (a killed writer) and is dropped.
// A run holds at most kMaxChecksPerRun checks and a file at most max_checks ("same_as" copies
// checks: this bounds what a small hostile file expands to; a ci sweep has 110k checks).
constexpr size_t kMaxChecksPerRun = 4096;
constexpr size_t kMaxChecksPerFile = size_t{4} << 20;
Results read_results_file(const std::string& path);
Results parse_results_text(const std::string& text, const std::string& what, size_t max_checks = kMaxChecksPerFile);

}  // namespace kcs
