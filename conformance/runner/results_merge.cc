#include "conformance/runner/results_merge.h"

#include <set>
#include <unordered_map>

#include "kcs/status.h"

namespace kcs {

namespace {

std::string describe(const ResultRun& r) {
  return r.case_id + " on " + r.backend + " (" + variant_name(r) + ")";
}

// Stage records are "<case>#<stage>": they belong to their case.
std::string case_of(const std::string& id) { return id.substr(0, id.find('#')); }

}  // namespace

MergedResults merge_results(std::vector<Results> parts, const std::vector<std::string>& names) {
  if (parts.empty()) throw Error("nothing to merge");
  if (names.size() != parts.size()) throw Error("merge_results: one name per part");
  MergedResults out;
  Results& m = out.results;
  m.header = parts.front().header;
  m.header.command = "merged from " + std::to_string(parts.size()) + " files";
  m.header.sources = names;
  m.header.shard_index = 0;
  m.header.shard_count = 1;
  m.header.planned.clear();

  // Shards: every part of one sweep split I/N, each I at most once.
  const int n = parts.front().header.shard_count;
  std::vector<std::string> shard_file(static_cast<size_t>(n));
  for (size_t i = 0; i < parts.size(); ++i) {
    const ResultsHeader& h = parts[i].header;
    if (h.tier != m.header.tier)
      throw Error("cannot merge results of tiers " + h.tier + " (" + names[i] + ") and " + m.header.tier + " (" +
                  names[0] + ")");
    if (h.shard_count != n)
      throw Error("cannot merge shards of different splits: " + names[0] + " is shard " +
                  std::to_string(parts[0].header.shard_index) + "/" + std::to_string(n) + ", " + names[i] + " is " +
                  std::to_string(h.shard_index) + "/" + std::to_string(h.shard_count));
    std::string& seen = shard_file[static_cast<size_t>(h.shard_index)];
    if (n > 1 && !seen.empty())
      throw Error("shard " + std::to_string(h.shard_index) + "/" + std::to_string(n) + " is given twice: " + seen +
                  " and " + names[i]);
    seen = names[i];
    if (!h.complete)
      out.missing.push_back(names[i] + ": the sweep was interrupted (no end line): " +
                            std::to_string(parts[i].runs.size()) + " runs, the rest missing");
  }
  if (n > 1)
    for (int s = 0; s < n; ++s)
      if (shard_file[static_cast<size_t>(s)].empty())
        out.missing.push_back("shard " + std::to_string(s) + "/" + std::to_string(n) + " is missing");

  // A run present twice means a part was given twice or shards overlap: counts would double.
  std::unordered_map<std::string, size_t> owner;
  std::set<std::string> planned_seen, ran;
  for (size_t i = 0; i < parts.size(); ++i) {
    for (const auto& c : parts[i].header.planned)
      if (planned_seen.insert(c).second) m.header.planned.push_back(c);
    for (auto& r : parts[i].runs) {
      if (!r.listed) continue;
      auto [it, fresh] = owner.emplace(run_key(r), i);
      if (!fresh)
        throw Error("the run " + describe(r) + " is in " + names[it->second] +
                    (it->second == i ? " twice" : " and in " + names[i]) +
                    ": merging would count it twice (the same file given twice, or overlapping shards?)");
      ran.insert(case_of(r.case_id));
      m.runs.push_back(std::move(r));
    }
    parts[i].runs.clear();
  }
  size_t not_run = 0;
  std::string first;
  for (const auto& c : m.header.planned)
    if (!ran.count(c) && not_run++ == 0) first = c;
  if (not_run)
    out.missing.push_back(std::to_string(not_run) + " of " + std::to_string(m.header.planned.size()) +
                          " planned cases have no run (first: " + first + ")");
  m.header.complete = out.missing.empty();
  return out;
}

}  // namespace kcs
