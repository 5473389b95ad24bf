// Results JSON of schema 1 (written by earlier kcs versions; kept for tests and old files: `kcs run`
// writes JSON Lines, conformance/runner/results_writer.h), and the helpers both formats share. One entry in "runs" per
// case x backend x tile x threads (with its verdict, reason and repro line), and one entry in
// "results" per run x output/check (contract, verdict, margin, metrics).
// Non-finite numbers are written as the strings "inf", "-inf", "nan" (JSON has no such numbers).
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "conformance/runner/json_input.h"  // read_json_file: every JSON input is bounded
#include "conformance/runner/runner.h"

namespace kcs {

constexpr int kResultsSchema = 1;

nlohmann::json json_number(double v);
double json_to_double(const nlohmann::json& v);

nlohmann::json machine_json();   // CPU model, features, which ISA variants run here and why not
nlohmann::json metrics_json(const Metrics& m);
nlohmann::json results_json(const std::vector<RunRecord>& runs, const std::string& tier, const std::string& command);

// Via a temporary with a unique name (temp_path_for) that is removed when writing fails.
void write_text_file(const std::string& path, const std::string& text);
// A unique temporary name beside `path` (pid + counter): concurrent writers never share one.
std::string temp_path_for(const std::string& path);

}  // namespace kcs
