// Host C API: results files and reports of scored runs (include/kcs/kcs.h).
#include "capi/handles.h"

#include <algorithm>
#include "conformance/runner/results.h"
#include "conformance/runner/results_writer.h"
#include "reports/html.h"
#include "reports/summary.h"

using namespace kcs;
using namespace kcs::capi;

namespace kcs::capi {

// The format `kcs run` writes (JSON Lines, conformance/runner/results_writer.h).
Results to_results(const kcs_results& r) {
  std::vector<std::string> backends, planned;
  for (const auto& run : r.runs) {
    if (std::find(backends.begin(), backends.end(), run.backend) == backends.end()) backends.push_back(run.backend);
    if (std::find(planned.begin(), planned.end(), run.case_id) == planned.end()) planned.push_back(run.case_id);
  }
  Results out;
  out.header = make_header(r.tier, r.command, 0, 1, backends, planned);
  for (const auto& run : r.runs) out.runs.push_back(to_result_run(run));
  return out;
}

void write_results_file(const std::string& path, const kcs_results& r) { kcs::write_results_file(path, to_results(r)); }

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
    const Results results = to_results(rs);
    write_text_file(std::string(dir) + "/index.html", report_html(results));
    write_text_file(std::string(dir) + "/summary.md", summary_markdown(results));
  });
}

}  // extern "C"
