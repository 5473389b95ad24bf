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

static std::string scaled(double v, Contract::Scale s) {
  switch (s) {
    case Contract::Scale::one: break;
    case Contract::Scale::rms: return num(v) + "*rms";
    case Contract::Scale::max1_rms: return num(v) + "*max(1,rms)";
  }
  return num(v);
}

// " hard |err| <= max(4*tol, 0.005*max(1,rms))", " hard d_ulp <= 2 or |err| <= 0.00195312*rms".
static std::string hard_str(const Contract::Hard& h, bool plus_budget) {
  if (!h.on) return "";
  std::string base;
  auto add = [&](const std::string& t) { base += (base.empty() ? "" : " + ") + t; };
  if (h.atol > 0) add(scaled(h.atol, h.atol_scale));
  if (h.rtol > 0) add(num(h.rtol) + "*|r|");
  if (h.ulps > 0) add(std::to_string(h.ulps) + "ulp");
  std::string bound = base;
  if (h.mul > 0) bound = base.empty() ? num(h.mul) + "*tol" : "max(" + num(h.mul) + "*tol, " + base + ")";
  if (bound.empty()) bound = "0";
  if (plus_budget) bound += " + B";  // tol above without B: the budget is added once
  return " hard " + (h.dulp >= 0 ? "d_ulp <= " + std::to_string(h.dulp) + " or " : std::string()) + "|err| <= " + bound;
}

static std::string refinements(const Contract& c) {
  std::string s = hard_str(c.hard, c.plus_budget);
  if (c.scale_consistent)
    s += std::string(" self_consistent(") + dtype_name(c.amax_dtype) + " amax" +
         (c.amax_floor > 0 ? ", floor " + num(c.amax_floor) : "") + ")";
  return s;
}

std::string Contract::str() const {
  switch (kind) {
    case Kind::none: return "none";
    case Kind::exact: return "exact";
    case Kind::max_ulp: return "max_ulp(" + std::to_string(ulps) + ")";
    case Kind::int_code: return "int_code(" + num(max_diff) + ", " + pct(max_ratio) + ")";
    case Kind::abs_rel:
      return "abs_rel(" + scaled(atol, atol_scale) + ", " + num(rtol) +
             (tol_ulps > 0 ? " + " + std::to_string(tol_ulps) + "ulp" : "") + (plus_budget ? " + B" : "") + ", " +
             pct(max_ratio) + ")" +
             refinements(*this);
    case Kind::untouched: return "untouched";
    case Kind::ulp_or_budget:
      return "ulp_or_budget(" + std::to_string(ulps) + ", 1/2ulp + " + num(budget_c) + (k_dim.empty() ? "" : "*" + k_dim) +
             "*2^-24*A" + (max_ratio > 0 ? ", " + pct(max_ratio) : "") + ")" + refinements(*this);
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
