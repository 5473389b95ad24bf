// A conformance sweep, planned once and executed by `kcs run` and the gtest suites alike: the
// (case, tile) work list in catalog order (sharded), the backends under test (plug-ins always in
// worker processes, built-ins too unless isolation is `plugins`), then every item on every
// backend behind the guards, with the policies that keep an untrusted backend from faking a pass:
//   - a crash, timeout or out-of-memory is the run's verdict; after `max_crashes` consecutive
//     ones a backend is stopped and its remaining runs are recorded as not_run;
//   - a failed or errored run is re-run once: a different outcome (verdict or output bits) is flaky;
//   - `repeat` N runs every item N times: any bit difference is flaky ("nondeterministic: ...");
//   - tiles that differ from the case's first tile only in knobs declared bit-invariant must give
//     the same bits (check "tile_invariance"), for every backend;
//   - an expectation list that leaves nothing executed, or whose wildcard entry matches every run
//     of a backend, makes the sweep unsound (the CLI exits 1).
// Every record is handed to the sink as soon as it exists; `stop` is asked between items.
#pragma once

#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "conformance/runner/catalog.h"
#include "conformance/runner/expectations.h"
#include "conformance/runner/isolate.h"
#include "conformance/runner/runner.h"

namespace kcs {

struct SweepOptions {
  std::vector<std::string> kernels, backends, tiles, backend_libs;
  std::string case_pattern, tier = "ci", shard, expect_file;
  int threads = 1;
  bool stages = false;
  bool isolate_builtins = true;  // --isolate all (default) | plugins
  IsolationOptions isolation;
  int repeat = 1;
  int max_crashes = 3;
  FILE* log = nullptr;  // notes (plug-in load errors, stopped backends, first diverging stage); null = quiet
  bool progress = false;  // a progress line on stderr
  // --resume: runs the results file already holds are not run again.
  std::function<bool(const std::string& kernel, const std::string& case_id, const std::string& backend,
                     const std::string& tile, int threads)>
      already_recorded;
};

struct SweepItem {
  CaseSpec cs;
  TileConfig tile;
  bool first_tile = false;
};

struct SweepPlan {
  std::vector<std::unique_ptr<Backend>> backends;
  std::vector<SweepItem> items;
  Expectations expect;
  std::vector<std::string> planned;  // case ids of every shard, so `kcs merge` can name missing ones
  int shard_index = 0, shard_count = 1;
};

// Throws kcs::Error on bad options (unknown backend or kernel, bad --shard, ...). items may be empty.
SweepPlan plan_sweep(const SweepOptions& o);
// The backend a sweep uses for a built-in name or a plug-in path, isolated as the options say.
std::unique_ptr<Backend> sweep_backend(const std::string& spec, bool lib, const SweepOptions& o);

struct SweepOutcome {
  size_t records = 0, failures = 0;  // failures: records whose verdict_is_failure()
  bool interrupted = false;          // `stop` said so before the last item
  std::vector<std::string> unsound;  // expectation problems: each makes the sweep fail
  std::vector<std::string> stopped;  // one line per backend stopped after repeated crashes
};

using RecordSink = std::function<void(RunRecord&&)>;
SweepOutcome execute_sweep(SweepPlan& plan, const SweepOptions& o, const RecordSink& sink,
                           const std::function<bool()>& stop = {});

// Re-run / repeat / tile-invariance policies for one item on one backend (execute_sweep's core,
// also used by the gtest suites). `first_tile_outputs`: the outputs of the case's first tile on
// this backend (filled when `first` is true, compared otherwise when only bit-invariant knobs differ).
RunRecord run_item(const SweepItem& it, const Bundle& b, Backend& be, const SweepOptions& o,
                   const TileConfig& first_tile, TensorMap& first_tile_outputs);

}  // namespace kcs
