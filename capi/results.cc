// Host C API: results files and reports of scored runs (include/kcs/kcs.h).
#include "capi/handles.h"
#include "conformance/runner/results.h"
#include "reports/html.h"
#include "reports/summary.h"

using namespace kcs;
using namespace kcs::capi;

namespace kcs::capi {

void write_results_file(const std::string& path, const kcs_results& r) {
  write_text_file(path, results_json(r.runs, r.tier, r.command).dump(1) + "\n");
}

}  // namespace kcs::capi

extern "C" {

kcs_status kcs_results_new(const char* tier, const char* command, kcs_results** out) {
  return guard([&] {
    kcs_results*& slot = deref(out, "out");
    slot = nullptr;
    if (!tier) throw BadArgument("tier is NULL");
    parse_tier(tier);
    auto r = std::make_unique<kcs_results>();
    r->tier = tier;
    r->command = command ? command : "";
    slot = r.release();
  });
}

void kcs_results_free(kcs_results* r) { delete r; }

kcs_status kcs_results_add(kcs_results* r, const kcs_score* s) {
  return guard([&] { deref(r, "results").runs.push_back(deref(s, "score").run); });
}

int32_t kcs_results_count(const kcs_results* r) { return r ? static_cast<int32_t>(r->runs.size()) : 0; }

kcs_status kcs_results_write(const kcs_results* r, const char* path) {
  return guard([&] {
    if (!path) throw BadArgument("path is NULL");
    write_results_file(path, deref(r, "results"));
  });
}

kcs_status kcs_results_write_report(const kcs_results* r, const char* dir) {
  return guard([&] {
    if (!dir) throw BadArgument("dir is NULL");
    const kcs_results& rs = deref(r, "results");
    const nlohmann::json j = results_json(rs.runs, rs.tier, rs.command);
    write_text_file(std::string(dir) + "/index.html", report_html(j));
    write_text_file(std::string(dir) + "/summary.md", summary_markdown(j));
  });
}

}  // extern "C"
