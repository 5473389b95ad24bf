// Expected failures and opt-outs of a backend (`kcs run --expect FILE`): a small JSON file that a
// backend ships beside itself, e.g.
//
//   {"kcs_expectations": 1,
//    "backend": "c_example",                       optional: entries apply to this backend only
//    "entries": [
//      {"case": "q8.nan_inf.*", "expect": "xfail", "reason": "NaN rows not handled yet",
//       "link": "https://tracker/123"},
//      {"case": "nvfp4_quant.*", "backend": "c_example", "expect": "unsupported",
//       "reason": "no FP4 path on this device", "link": "https://tracker/124"}]}
//
// "case" and "backend" are patterns with '*'. "reason" is required (an entry without one is
// refused: an opt-out must say why); "link" is optional but recommended.
//   xfail        the run happens; failed/error/outside_contract_differs becomes xfail. A pass is an UNEXPECTED PASS and
//                fails the run (strict): remove the entry once the backend is fixed.
//   unsupported  the run does not happen; the record says unsupported with the reason.
// The first matching entry wins.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "conformance/runner/runner.h"

namespace kcs {

struct Expectation {
  std::string case_pattern, backend_pattern = "*";
  Verdict expect = Verdict::xfail;  // xfail or unsupported
  std::string reason, link;
  int matched = 0;  // runs it applied to
  std::string describe() const;  // "xfail q8.nan_inf.* on c_example: reason (link)"
};

struct Expectations {
  std::string source;  // file name, for messages
  std::vector<Expectation> entries;

  Expectation* find(const std::string& case_id, const std::string& backend);
  bool empty() const { return entries.empty(); }
};

// Throws kcs::Error naming the file and the entry (index and case) at fault.
Expectations load_expectations(const std::string& path);
Expectations parse_expectations(const nlohmann::json& j, const std::string& source);

// The record of a run that an `unsupported` entry replaces.
RunRecord unsupported_record(const Expectation& e, const CaseSpec& cs, const std::string& backend,
                             const std::string& tile, int threads);
// Rewrites a finished run's verdict for an `xfail` entry: failed/error/outside_contract_differs ->
// xfail, passed -> failed (unexpected pass), skipped stays skipped.
void apply_xfail(const Expectation& e, const std::string& source, RunRecord& r);

}  // namespace kcs
