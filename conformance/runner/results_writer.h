// Writing results as a sweep goes: one JSON Lines record per run, flushed as it completes, so that
// a sweep that is killed keeps every finished run (results_model.h describes the format).
//
//   ResultsWriter w(path, make_header(...), resume);   // before the sweep: opens, locks, checks
//   if (!w.recorded(kernel, case, backend, tile, threads)) w.append(record);   // per run
//   w.finish();                                         // the end line: the sweep completed
//
// Sweeps emit records through a sink (ResultsWriter::sink()). Output paths are checked
// before the sweep (usage_error: exit 2), and two sweeps cannot write one file or directory: the
// file is flock'ed while written and `--out` has a lock file (.kcs-run.lock).
#pragma once

#include <cstdio>
#include <functional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "conformance/runner/results_model.h"
#include "conformance/runner/runner.h"

namespace kcs {

using ResultsSink = std::function<void(const RunRecord&)>;

// A path kcs cannot write (read-only directory, a directory where a file goes, locked by another
// run): thrown before any work, maps to exit 2.
struct OutputError : Error {
  using Error::Error;
};

// Header of a sweep: versions, compiler, date and machine filled in here.
ResultsHeader make_header(const std::string& tier, const std::string& command, int shard_index, int shard_count,
                          std::vector<std::string> backends, std::vector<std::string> planned);

ResultRun to_result_run(const RunRecord& r);

// The full-metrics rule shared by the writer and `kcs merge`: a check keeps its full metrics when it
// failed or is strictly worse than every earlier check of its kernel x backend x output (checks of
// xfail and outside_contract_differs runs do not take part, as in the report).
class WorstTracker {
 public:
  std::vector<bool> mark(const ResultRun& r);

 private:
  std::unordered_map<std::string, CheckResult> worst_;
};

// Turns runs into JSON Lines records in file order: which checks stay full (WorstTracker) and which
// runs refer to an earlier run of their case with identical checks ("same_as").
class RecordEncoder {
 public:
  std::string encode(const ResultRun& r);
  void replay(const ResultRun& r);  // a run already in the file (resume)

 private:
  std::string compact_key(const ResultRun& r) const;
  WorstTracker worst_;
  int64_t next_ = 0;
  std::string group_;  // the case whose runs `seen_` holds
  std::unordered_map<std::string, int64_t> seen_;
};

class ResultsWriter {
 public:
  // resume: continue an existing file whose header matches (its finished runs are kept; a line cut
  // by a kill and a previous end line are dropped). Without resume an existing file is replaced.
  ResultsWriter(const std::string& path, const ResultsHeader& header, bool resume = false);
  ~ResultsWriter();
  ResultsWriter(const ResultsWriter&) = delete;
  ResultsWriter& operator=(const ResultsWriter&) = delete;

  bool recorded(const std::string& kernel, const std::string& case_id, const std::string& backend,
                const std::string& tile, int threads) const;
  size_t resumed_runs() const { return resumed_; }
  size_t runs() const { return runs_; }  // in the file, resumed ones included
  void append(const RunRecord& r);
  void append(const ResultRun& r);
  ResultsSink sink() {
    return [this](const RunRecord& r) { append(r); };
  }
  void finish();  // writes the end line and closes; without it the file reads as interrupted
  const std::string& path() const { return path_; }

 private:
  void write_line(const std::string& line);
  std::string path_;
  FILE* f_ = nullptr;
  size_t runs_ = 0, resumed_ = 0;
  std::unordered_set<std::string> done_;
  RecordEncoder encoder_;
};

// The whole file at once (kcs check, kcs merge, a sweep that ends before writing): header, runs,
// end line (when `complete`), through a temporary file renamed into place.
void write_results_file(const std::string& path, const Results& results, bool complete = true);

// Creates `dir` if needed and takes its lock file for the life of the object; throws OutputError
// when the directory cannot be written or another kcs run holds it.
class DirLock {
 public:
  explicit DirLock(const std::string& dir);
  ~DirLock();
  DirLock(const DirLock&) = delete;
  DirLock& operator=(const DirLock&) = delete;

 private:
  int fd_ = -1;
};

// Throws OutputError when `path` (a file to be written) cannot be: its directory is created and
// probed with a temporary file that is removed at once.
void check_writable(const std::string& path);

}  // namespace kcs
