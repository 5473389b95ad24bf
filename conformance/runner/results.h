// Results JSON: the input of `kcs report` and of baselines. One entry in "runs" per
// case x backend x tile x threads (with its verdict, reason and repro line), and one entry in
// "results" per run x output/check (contract, verdict, margin, metrics).
// Non-finite numbers are written as the strings "inf", "-inf", "nan" (JSON has no such numbers).
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "conformance/runner/runner.h"

namespace kcs {

constexpr int kResultsSchema = 1;

nlohmann::json json_number(double v);
double json_to_double(const nlohmann::json& v);

nlohmann::json machine_json();   // CPU model, features, which ISA variants run here and why not
nlohmann::json metrics_json(const Metrics& m);
nlohmann::json results_json(const std::vector<RunRecord>& runs, const std::string& tier, const std::string& command);
// Concatenates the runs and results of shard files; refuses files of different schema or machine.
nlohmann::json merge_results(const std::vector<nlohmann::json>& parts);

nlohmann::json read_json_file(const std::string& path);  // throws kcs::Error naming the file
void write_text_file(const std::string& path, const std::string& text);  // via a temporary + rename

}  // namespace kcs
