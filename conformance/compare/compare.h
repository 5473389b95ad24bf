// The comparison engine: scores one output tensor against its reference under a contract
// (DESIGN "Contracts", spec §10.4/§10.5) and always returns the full metrics, verdict or not.
//
// Conventions shared by every function here:
// * Logical elements: for e2m1x2 the nibbles (low nibble = even element, logical last dim = 2x the
//   stored one); for ue4m3x4 the 4 bytes of each int32 (logical last dim = 4x). Indices in results
//   are n-d indices on this logical shape.
// * Distance ("ulp") is measured in the tensor's own format: |ord(e) - ord(a)| on the sign-magnitude
//   code (16-bit floats exactly as spec §0.3 d_ulp, fp32/fp64 likewise, e2m1/e4m3 on their codes),
//   so +0 and -0 are 0 apart; integers: |a - b|. Differences saturate at INT64_MAX instead of
//   overflowing. NaN equals only NaN (any payload); a NaN against a number is a "NaN mismatch",
//   distance -1, histogram bucket 7. ±Inf equals only the same Inf; against anything else the
//   distance is INT64_MAX (an overflow is never "1 ulp from max finite").
// * Metrics.worst[].ulp and Metrics.worst_row_max_ulp use -1 for a NaN mismatch, which ranks
//   above every finite distance; worst[].abs_err is NaN there. Only differing elements are listed.
// * Allowed counts for ratios are ceil(rho * numel) (spec §10.5 "ratio <= rho"), with products
//   within 1e-9 of an integer taken as that integer (0.07 * 100 is 7.000000000000001 in double).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "kcs/check.h"
#include "kcs/contract.h"
#include "kcs/tensor.h"

namespace kcs {

// Logical element count / value / distance per dtype. For e2m1x2 the logical elements are the
// nibbles (low nibble = even element; logical shape = last dim * 2); for ue4m3x4 the 4 bytes
// (last dim * 4). A rank-0 packed tensor has logical shape [2] / [4].
Shape logical_shape(const Tensor& t);
// Decoded value (bf16/fp16/e4m3/e2m1 decoded; integers as double). Throws kcs::Error out of range.
double element_value(const Tensor& t, int64_t logical_index);
// Distance in the tensor's own format (see above): -1 when exactly one side is NaN, 0 when both
// are. Throws kcs::Error on a dtype mismatch or an index out of range of either tensor.
int64_t element_ulp(const Tensor& expected, const Tensor& actual, int64_t logical_index);
// Row-major n-d index of a flat index.
std::vector<int64_t> unravel(const Shape& shape, int64_t flat);
// ceil(rho * n) with the tolerance described above; rho <= 0 gives 0.
int64_t allowed_count(double rho, int64_t n);

// Elementwise comparison of `actual` against `expected` under `contract` (exact, max_ulp,
// int_code, abs_rel). If row_mask is given (one byte per row; rows = all but the last logical
// dim), only rows with mask != 0 are compared. A dtype/shape/mask-size mismatch gives a failed
// result whose message says so (margin +inf, numel 0, cosine and snr_db NaN = not computed).
//
// Verdict and margin (observed / allowed, <= 1 passes), n = numel compared:
// * exact:     pass iff no element differs in bits (NaN payloads ignored; +0 vs -0 differs);
//              margin 0 or +inf.
// * max_ulp(u): pass iff no NaN mismatch and max distance <= u; margin = max_ulp / u
//              (u = 0: 0 or +inf; any NaN mismatch: +inf).
// * int_code(d, rho): distance as above (integers: |a - b|); pass iff max distance <= d and
//              count(distance != 0) <= allowed_count(rho, n); margin = max(maxdiff / d,
//              count / allowed) with x/0 = +inf if x > 0 else 0. NaN mismatch: maxdiff = +inf.
// * abs_rel(atol, rtol, rho): an element violates if |a - e| > atol + rtol*|e|, or it is an Inf
//              mismatch; pass iff violations <= allowed_count(rho, n) and there is no NaN
//              mismatch (always a hard failure); margin = violations == 0 ? max |a-e|/(atol+rtol|e|)
//              : violations / allowed (+inf if allowed is 0, or on a NaN mismatch).
// * none, untouched: a failed result "contract X cannot be used for an output".
// Metrics are filled for every compared output whatever the verdict; `message` only on failure.
// * ulp_or_budget: see contract.h; needs ctx with the budget tensor (and the pre-rounding tensor
//              when the reference recorded one; otherwise pre = expected). Violations as abs_rel;
//              margin = max over elements of min(d_ulp / ulps, |a - pre| / tol).
// * topk_set: see contract.h; needs ctx with the keys (prerounding) and tolerances (budget), both
//              [rows, N] over index values; no row mask. Structural errors (wrong count, duplicate,
//              invalid index, a tail entry not -1) give margin +inf; otherwise margin = max over
//              chosen v of (key_kth - key[v]) / tau[v] and of the sum deficit / sum of tau.
//              metrics.mismatches counts entries that differ from the expected row (order
//              included, for information only); worst lists chosen entries below the k-th key.
// * Refinements of abs_rel / ulp_or_budget (contract.h): an rms-scaled atol (rms of the expected
//              values over the compared elements), a tolerance term in ulps of the expected value,
//              a hard part that every element must meet (a hard violation fails whatever the ratio
//              part allows; margin = max(ratio-part margin, max hard |err| / hard bound)), and Q8 scale
//              self-consistency (a differing scale that no amax of the input format gives fails as a
//              hard violation), and plus_budget: the element's /budget/<name> (finite, >= 0, else
//              a failed result) added to both the ratio part's and the hard part's tolerance.
struct CompareContext {
  const Tensor* prerounding = nullptr;  // same logical shape as the output, fp64 or fp32
  const Tensor* budget = nullptr;       // abs-dot sums A, fp64
  int64_t k = 1;                        // the contract's k_dim of the problem
  // One byte per logical element; 0 = outside the output's valid region (spec §10.5 "valid region
  // only"): neither compared nor counted nor part of the rms. Null: every element is valid.
  const std::vector<uint8_t>* valid = nullptr;
  // The quantizer input behind each element, to show a failing element's cause (its input and its
  // group's amax). Codes: element i has input quant_input[i] and group i / quant_group; scales
  // (quant_scale): element i is the scale of group i. quant_n values; NaN where not recorded.
  const double* quant_input = nullptr;
  int64_t quant_n = 0;
  int64_t quant_group = 0;
  bool quant_scale = false;
};
CheckResult compare_tensor(const std::string& name, const Tensor& expected, const Tensor& actual,
                           const Contract& contract, const std::vector<uint8_t>* row_mask = nullptr,
                           const CompareContext* ctx = nullptr);
// Spacing of `dt` (bf16, fp16, fp32, fp64) at |x|, subnormal spacing below the normal range.
double format_ulp(DType dt, double x);

// `untouched`: every row with touched[row] == 0 is byte-identical to `before` (NaN payloads
// included). Metrics cover the untouched rows; mismatches are the changed logical elements and
// `worst` lists the FIRST changed elements in index order (not the largest), with indices.
CheckResult check_untouched(const std::string& name, const Tensor& before, const Tensor& actual,
                            const std::vector<uint8_t>& touched);

}  // namespace kcs
