#include "kcs/contract.h"

#include <cstdio>

#include "kcs/check.h"

namespace kcs {

static std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}
static std::string pct(double r) { return num(r * 100) + "%"; }

std::string Contract::str() const {
  switch (kind) {
    case Kind::none: return "none";
    case Kind::exact: return "exact";
    case Kind::max_ulp: return "max_ulp(" + std::to_string(ulps) + ")";
    case Kind::int_code: return "int_code(" + num(max_diff) + ", " + pct(max_ratio) + ")";
    case Kind::abs_rel: return "abs_rel(" + num(atol) + ", " + num(rtol) + ", " + pct(max_ratio) + ")";
    case Kind::untouched: return "untouched";
    case Kind::ulp_or_budget:
      return "ulp_or_budget(" + std::to_string(ulps) + ", 1/2ulp + " + num(budget_c) + (k_dim.empty() ? "" : "*" + k_dim) +
             "*2^-24*A" + (max_ratio > 0 ? ", " + pct(max_ratio) : "") + ")";
    case Kind::topk_set: return "topk_set(key >= key_kth - tau, sum condition)";
  }
  return "?";
}

const char* ulp_bucket_name(int b) {
  static const char* const kNames[kUlpBuckets] = {"0", "1", "2", "3-4", "5-8", "9-16", ">16", "nan"};
  return (b >= 0 && b < kUlpBuckets) ? kNames[b] : "?";
}

int ulp_bucket(int64_t ulp) {
  if (ulp <= 2) return static_cast<int>(ulp < 0 ? 0 : ulp);
  if (ulp <= 4) return 3;
  if (ulp <= 8) return 4;
  if (ulp <= 16) return 5;
  return 6;
}

}  // namespace kcs
