#include "conformance/compare/diagnosis.h"

#include <fmt/format.h>

#include <cmath>
#include <map>
#include <set>

#include "kcs/formats.h"

namespace kcs {

namespace {

double pre_at(const Tensor& t, int64_t i) {
  return t.dtype() == DType::fp64 ? t.data<double>()[i] : static_cast<double>(t.data<float>()[i]);
}

// Whether the unrounded value `p` sits exactly on a tie of the output format, where ties to even
// and ties away disagree.
bool on_tie(DType t, double p) {
  switch (t) {
    case DType::i8:
    case DType::i32:
    case DType::i64: return std::fabs(p - std::trunc(p)) == 0.5;
    case DType::bf16: return bf16_from_double(p, Round::rint) != bf16_from_double(p, Round::rhaz);
    case DType::fp16: return fp16_from_double(p, Round::rint) != fp16_from_double(p, Round::rhaz);
    case DType::fp32: return f32_from_double(p, Round::rint) != f32_from_double(p, Round::rhaz);
    case DType::e2m1x2: return e2m1_from_double(p, Round::rint) != e2m1_from_double(p, Round::rhaz);
    default: return false;
  }
}

// Smallest normal magnitude of the output format (0: no subnormal range worth naming).
double min_normal(DType t) {
  switch (t) {
    case DType::bf16: return 0x1.0p-126;
    case DType::fp16: return 0x1.0p-14;
    case DType::fp32: return 0x1.0p-126;
    case DType::ue4m3x4: return 0x1.0p-6;
    default: return 0;
  }
}

}  // namespace

std::string diagnose(const Tensor& expected, const Tensor& actual, const CompareContext* ctx,
                     const std::vector<uint8_t>* row_mask, const Metrics& m) {
  if (m.mismatches == 0 || expected.dtype() != actual.dtype() || expected.shape() != actual.shape()) return {};
  const DType t = expected.dtype();
  const Shape ls = logical_shape(expected);
  const int64_t n = shape_numel(ls);
  const int64_t row_len = ls.empty() ? 1 : ls.back();
  const Tensor* pre = ctx ? ctx->prerounding : nullptr;
  if (pre && pre->numel() != n) pre = nullptr;
  if (pre && pre->dtype() != DType::fp64 && pre->dtype() != DType::fp32) pre = nullptr;
  int64_t diff = 0, ties = 0, subnormal = 0, last_block = 0;
  const int64_t dim0 = ls.empty() ? 1 : ls.front();
  const int64_t per0 = dim0 > 0 ? n / dim0 : 0;
  const double mn = min_normal(t);
  for (int64_t i = 0; i < n; ++i) {
    if (row_mask && row_len > 0 && (*row_mask)[static_cast<size_t>(i / row_len)] == 0) continue;
    const int64_t d = element_ulp(expected, actual, i);
    const double ev = element_value(expected, i);
    const double av = element_value(actual, i);
    if (d == 0 && (ev == av || (std::isnan(ev) && std::isnan(av)))) continue;
    ++diff;
    if (pre && on_tie(t, pre_at(*pre, i))) ++ties;
    const double mag = pre && t == DType::ue4m3x4 ? std::fabs(pre_at(*pre, i)) : std::fabs(ev);
    if (mn > 0 && mag < mn) ++subnormal;
    if (dim0 > 1 && per0 > 0 && i / per0 == dim0 - 1) ++last_block;
  }
  if (diff == 0) return {};
  const char* what = dtype_is_int(t) || t == DType::e2m1x2 ? "codes" : "elements";
  if (pre && ties == diff)
    return fmt::format("all {} differing {} sit on exact ties of the reference's unrounded value: check the tie "
                       "rounding (ties to even vs ties away)",
                       diff, what);
  // The patterns below need enough elements to be patterns: one differing element is always
  // "in the last block" and "toward zero or away". The direction needs the bias check's 37.
  if (m.biased_n == diff && diff > 36 && (m.toward_zero == diff || m.toward_zero == 0)) {
    const bool toward = m.toward_zero == diff;
    if (m.max_ulp == 1)
      return fmt::format("every differing element is 1 ULP {}: {}", toward ? "toward zero" : "away from zero",
                         toward ? "truncation instead of round-to-nearest"
                                : "a systematic bias up in magnitude (rounding up, or a slightly larger factor such "
                                  "as a smaller eps)");
    return fmt::format("every differing element is {}: {}", toward ? "toward zero" : "away from zero",
                       toward ? "a systematic bias down in magnitude (truncation somewhere before the output, or a "
                                "smaller factor such as a larger eps)"
                              : "a systematic bias up in magnitude (a larger factor somewhere, e.g. a smaller eps)");
  }
  if (diff < 2) return {};
  if (mn > 0 && subnormal == diff)
    return t == DType::ue4m3x4
               ? fmt::format("every differing scale belongs to a group whose scale is below 2^-6 (amax below "
                             "0.094: the E4M3 subnormal range)")
               : fmt::format("every differing element is below {:.3g}, the {} subnormal range", mn, dtype_name(t));
  // Not for in-out caches (row mask): their first dimension is a block id, not an order.
  if (last_block == diff && dim0 > 1 && row_mask == nullptr)
    return fmt::format("only the last block (index {} of the first dimension, size {}) differs: check the last "
                       "partial tile / block / window",
                       dim0 - 1, dim0);
  return {};
}

std::string diagnose_attribute(const std::vector<std::pair<std::map<std::string, std::string>, bool>>& cases) {
  std::set<std::string> names;
  for (const auto& [attrs, failed] : cases)
    for (const auto& [k, v] : attrs) names.insert(k);
  int fails = 0, passes = 0;
  for (const auto& c : cases) (c.second ? fails : passes)++;
  if (fails == 0 || passes == 0) return {};
  for (const auto& a : names) {
    // A value v of `a` that no failing case has while some passing cases have it: the backend
    // behaves as if `a` were always v.
    std::map<std::string, int> pass_count;
    std::set<std::string> fail_vals;
    for (const auto& [attrs, failed] : cases) {
      const auto it = attrs.find(a);
      const std::string v = it == attrs.end() ? "" : it->second;
      if (failed)
        fail_vals.insert(v);
      else
        ++pass_count[v];
    }
    // v must be the most common value among the passing cases (the one a backend that ignores
    // the attribute effectively uses): one failing case among a few passing ones of another
    // value says nothing.
    std::string common;
    int most = 0;
    for (const auto& [v, n] : pass_count)
      if (n > most) most = n, common = v;
    for (const auto& [v, n] : pass_count)
      if (v == common && !fail_vals.count(v))
        return fmt::format("the differences follow one attribute: all {} failing cases have {} != {}, and the {} "
                           "cases with {} = {} pass: {} appears unused (the backend behaves as if it were always {})",
                           fails, a, v, n, a, v, a, v);
  }
  return {};
}

}  // namespace kcs
