#include "conformance/runner/results.h"

#include <cmath>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <atomic>

#include <unistd.h>

#include "conformance/fixture/bundle.h"
#include "conformance/runner/json_input.h"
#include "kcs/cpu.h"

namespace kcs {

nlohmann::json json_number(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  return v;
}

double json_to_double(const nlohmann::json& v) {
  if (v.is_number()) return v.get<double>();
  if (v.is_string()) {
    const std::string s = v.get<std::string>();
    if (s == "inf") return INFINITY;
    if (s == "-inf") return -INFINITY;
    if (s == "nan") return NAN;
  }
  return NAN;
}

nlohmann::json machine_json() {
  const CpuFeatures& f = cpu_features();
  nlohmann::json isas = nlohmann::json::object();
  for (Isa i : {Isa::amx, Isa::avx512, Isa::avx2}) {
    const std::string missing = isa_missing(i);
    isas[isa_name(i)] = {{"runnable", missing.empty()}, {"reason", missing}};
  }
  return {{"cpu", f.model}, {"features", f.names()}, {"isa", isas}};
}

nlohmann::json metrics_json(const Metrics& m) {
  nlohmann::json worst = nlohmann::json::array();
  for (const auto& w : m.worst) {
    worst.push_back({{"index", w.index},
                     {"expected", json_number(w.expected)},
                     {"actual", json_number(w.actual)},
                     {"abs_err", json_number(w.abs_err)},
                     {"ulp", w.ulp},
                     {"prerounding", json_number(w.prerounding)}});
    // A quantized element's cause (its group's amax, its input), only where known.
    if (!std::isnan(w.amax)) worst.back()["amax"] = json_number(w.amax);
    if (!std::isnan(w.input)) worst.back()["input"] = json_number(w.input);
  }
  nlohmann::json hist = nlohmann::json::object();
  for (int b = 0; b < kUlpBuckets; ++b) hist[ulp_bucket_name(b)] = m.ulp_hist[static_cast<size_t>(b)];
  return {{"numel", m.numel},
          {"mismatches", m.mismatches},
          {"mismatch_ratio", json_number(m.mismatch_ratio)},
          {"max_abs", json_number(m.max_abs)},
          {"max_rel", json_number(m.max_rel)},
          {"max_ulp", m.max_ulp},
          {"ulp_hist", hist},
          {"worst", worst},
          {"worst_row", m.worst_row},
          {"worst_row_max_ulp", m.worst_row_max_ulp},
          {"cosine", json_number(m.cosine)},
          {"snr_db", json_number(m.snr_db)},
          {"bias", {{"differing", m.biased_n}, {"toward_zero", m.toward_zero}, {"signed_ulp_sum", m.signed_ulp_sum}}}};
}

static std::string now_utc() {
  std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

static std::string compiler() {
#if defined(__clang__)
  return std::string("clang ") + __clang_version__;
#elif defined(__GNUC__)
  return std::string("g++ ") + __VERSION__;
#else
  return "unknown";
#endif
}

nlohmann::json results_json(const std::vector<RunRecord>& runs, const std::string& tier, const std::string& command) {
  nlohmann::json j;
  j["schema"] = kResultsSchema;
  j["kcs_version"] = KCS_VERSION;
  j["spec_version"] = kSpecVersion;
  j["compiler"] = compiler();
  j["date"] = now_utc();
  j["tier"] = tier;
  j["command"] = command;
  j["machine"] = machine_json();
  j["runs"] = nlohmann::json::array();
  j["results"] = nlohmann::json::array();
  for (const auto& r : runs) {
    j["runs"].push_back({{"kernel", r.kernel},
                         {"case", r.case_id},
                         {"backend", r.backend},
                         {"tile", r.tile},
                         {"threads", r.threads},
                         {"verdict", verdict_name(r.verdict)},
                         {"reason", r.reason},
                         {"repro", r.repro},
                         {"seconds", r.seconds}});
    for (const auto& c : r.checks)
      j["results"].push_back({{"kernel", r.kernel},
                              {"case", r.case_id},
                              {"backend", r.backend},
                              {"tile", r.tile},
                              {"threads", r.threads},
                              {"output", c.name},
                              {"contract", c.contract},
                              {"verdict", c.passed ? "passed" : "failed"},
                              {"margin", json_number(c.margin)},
                              {"message", c.message},
                              {"diagnosis", c.diagnosis},
                              {"metrics", metrics_json(c.metrics)},
                              {"repro", r.repro}});
  }
  return j;
}

std::string temp_path_for(const std::string& path) {
  static std::atomic<unsigned> counter{0};
  return path + ".tmp." + std::to_string(getpid()) + "." + std::to_string(counter++);
}

void write_text_file(const std::string& path, const std::string& text) {
  namespace fs = std::filesystem;
  const fs::path p(path);
  if (p.has_parent_path()) fs::create_directories(p.parent_path());
  const std::string tmp = temp_path_for(path);
  try {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw Error("cannot write " + tmp);
    out << text;
    if (!out.flush()) throw Error("error writing " + tmp);
    out.close();
    fs::rename(tmp, p);
  } catch (...) {
    std::error_code ec;
    fs::remove(tmp, ec);
    throw;
  }
}

}  // namespace kcs
