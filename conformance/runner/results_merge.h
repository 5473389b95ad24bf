// `kcs merge` and multi-file `kcs report`: results of shards put together, soundly. Parts that
// cannot be merged (a run present twice, as when one file is given twice; shards of different
// sweeps; the same shard twice; tiers that differ) throw kcs::Error before anything is written.
// What is merely missing (a shard I/N not given, planned cases without a run, a part whose sweep
// was interrupted) is listed in `missing`; the merged results are then marked incomplete.
#pragma once

#include <string>
#include <vector>

#include "conformance/runner/results_model.h"

namespace kcs {

struct MergedResults {
  Results results;
  std::vector<std::string> missing;  // one line each, for the terminal
};

// `names` name the parts in messages (file paths).
MergedResults merge_results(std::vector<Results> parts, const std::vector<std::string>& names);

}  // namespace kcs
