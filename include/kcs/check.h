// The outcome of comparing one output (or checking one invariant) against its contract.
// Plain data: produced by conformance/compare, consumed by the runner, results JSON and reports.
#pragma once

#include <array>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace kcs {

// ULP histogram buckets: 0, 1, 2, 3-4, 5-8, 9-16, >16, NaN mismatch (one side NaN, other not).
constexpr int kUlpBuckets = 8;
const char* ulp_bucket_name(int b);
int ulp_bucket(int64_t ulp);  // bucket of a finite distance

struct WorstElement {
  std::vector<int64_t> index;  // n-d index into the output
  double expected = 0;
  double actual = 0;
  double abs_err = 0;
  int64_t ulp = 0;  // distance in the output's own format (code difference for integers)
  // The reference's value before its last rounding (/prerounding/<output>), NaN where not recorded.
  double prerounding = std::numeric_limits<double>::quiet_NaN();
  // For quantized outputs (codes and scales): the amax of the element's group (a Q8 row, an NVFP4
  // group of 16) and the element's own quantizer input (codes only); NaN where not known.
  double amax = std::numeric_limits<double>::quiet_NaN();
  double input = std::numeric_limits<double>::quiet_NaN();
};

struct Metrics {
  int64_t numel = 0;       // elements compared
  int64_t mismatches = 0;  // elements not bit-identical (NaN vs NaN counts as equal)
  double mismatch_ratio = 0;
  double max_abs = 0;
  double max_rel = 0;
  int64_t max_ulp = 0;
  std::array<int64_t, kUlpBuckets> ulp_hist{};
  std::vector<WorstElement> worst;  // up to 10, largest ulp (then abs error) first
  int64_t worst_row = -1;           // row (all but last dim flattened) holding the largest ulp distance
  int64_t worst_row_max_ulp = 0;
  double cosine = 1;
  double snr_db = std::numeric_limits<double>::infinity();
  // Rounding bias (float outputs): over the finite elements that differ by >= 1 ulp, how many
  // point toward zero (|actual| < |expected|) and the signed sum of distances (toward zero > 0).
  int64_t biased_n = 0;
  int64_t toward_zero = 0;
  double signed_ulp_sum = 0;
  double signed_ulp_sq = 0;  // sum of squared distances (the null model's variance of the sum)
};

struct CheckResult {
  std::string name;      // output name, "<inout>.untouched", or "invariant:<name>"
  std::string contract;  // human form of the rule, e.g. "exact", "int_code(1, 1%)"
  bool passed = false;
  // Observed / allowed for the binding limit of the contract (<= 1 passes). 0 when exact and equal.
  double margin = 0;
  std::string message;  // on failure: what broke, naming the first/worst element; ends with the diagnosis
  // One line naming the likely cause when the differing elements fit a pattern (truncation,
  // tie rounding, ...); empty when none fits. Also appended to `message`.
  std::string diagnosis;
  Metrics metrics;
};

}  // namespace kcs
