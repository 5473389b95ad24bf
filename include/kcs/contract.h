// The contract vocabulary of spec §10.5 / DESIGN "Contracts".
#pragma once

#include <cstdint>
#include <string>
#include <utility>

#include "kcs/dtype.h"

namespace kcs {

struct Contract {
  enum class Kind {
    none,       // inputs
    exact,      // bit-identical (NaN matches any NaN)
    max_ulp,    // d_ulp <= ulps for every element, in the output's own format
    int_code,   // |code diff| <= max_diff everywhere and ratio(diff != 0) <= max_ratio
    abs_rel,    // |a-e| <= atol + rtol*|e| for all but ratio <= max_ratio of elements
    // (16-bit abs_rel outputs, max_ulp and ulp_or_budget outputs also get the rounding-bias check;
    // binary32 abs_rel outputs over the elements whose /budget/<name>, the bound of the error they
    // share with other elements through inputs a backend computes in its own order, is 0.)
    untouched,  // bytes outside the touched rows equal `before` (implicit for every inout tensor)
    // Spec §10.4 single-GEMM rule: an element passes if d_ulp(a, e) <= ulps, or if
    // |a - pre| <= 1/2 ulp_T(pre) + budget_c * K * 2^-24 * A, where pre is the reference's
    // unrounded value (/prerounding/<name>), A its abs-dot (/budget/<name>) and K the problem
    // dimension `k_dim` (1 when k_dim is empty). At most ratio max_ratio may fail both.
    ulp_or_budget,
    // Spec §10.5 top-k set rule (int32 index outputs; order and ties among near-equal keys are
    // never compared). Per row (all but the last dim): k = the number of expected entries that are
    // not -1 (the expected row is k indices, then -1). The actual row passes when its first k
    // entries are distinct valid indices, the rest are exactly -1, every chosen index v has
    // key[v] >= key_kth - tau[v], and sum_chosen key >= sum_expected key - sum_chosen tau, where
    // key_kth is the smallest key of the expected set. key comes from /prerounding/<name> and tau
    // from /budget/<name>, both [rows, N] over index values v in [0, N): key[v] is the reference's
    // score of index value v, NaN where v is not a valid index (outside the visible range).
    topk_set,
  };
  // What an absolute tolerance is multiplied by: 1, or the rms of the reference over the compared
  // elements (spec §10.5 "rms = sqrt(mean(r²)) over the valid region"), or max(1, rms).
  enum class Scale { one, rms, max1_rms };
  // Spec §10.5 "hard" part: a bound every element must meet, beside the ratio part above it. An
  // element breaks it when d_ulp > dulp (dulp < 0: no ulp allowance) and
  // |a - e| > max(mul * tol_ratio(e), atol * S + rtol * |e| + ulps * ulp_T(e)), where tol_ratio is
  // the ratio part's tolerance (abs_rel only). A NaN or Inf mismatch always breaks it.
  struct Hard {
    bool on = false;
    double mul = 0;
    double atol = 0;
    Scale atol_scale = Scale::one;
    double rtol = 0;
    int64_t ulps = 0;
    int64_t dulp = -1;
  };

  Kind kind = Kind::none;
  int64_t ulps = 0;
  double max_diff = 0;
  double max_ratio = 0;
  double atol = 0;
  double rtol = 0;
  double budget_c = 0;
  std::string k_dim;
  // abs_rel: the tolerance is atol * S(atol_scale) + rtol*|e| + tol_ulps * ulp_T(e), plus B[i] =
  // /budget/<name> of the element with plus_budget (the reference's bound of the error a correct
  // backend may share with other elements through inputs it rounds otherwise; both parts).
  Scale atol_scale = Scale::one;
  int64_t tol_ulps = 0;
  bool plus_budget = false;
  Hard hard;
  // Q8 scale self-consistency (spec §1.1 step 5, §10.5 "Scales"): a scale that differs from the
  // reference's must still be s(a) = T(1 ⊘ (127 ⊘ a)) (binary32, then the output's format T) for some
  // amax `a` of the quantizer input's format (amax_dtype; with amax_floor > 0 also a = amax_floor).
  // Where the backend's amax equals the reference's, s(a) is the reference's scale: bit-exact.
  bool scale_consistent = false;
  DType amax_dtype = DType::bf16;
  double amax_floor = 0;

  static Contract Exact() { return make(Kind::exact); }
  static Contract MaxUlp(int64_t n) {
    Contract c = make(Kind::max_ulp);
    c.ulps = n;
    return c;
  }
  static Contract IntCode(double max_diff, double max_ratio) {
    Contract c = make(Kind::int_code);
    c.max_diff = max_diff;
    c.max_ratio = max_ratio;
    return c;
  }
  static Contract AbsRel(double atol, double rtol, double max_ratio) {
    Contract c = make(Kind::abs_rel);
    c.atol = atol;
    c.rtol = rtol;
    c.max_ratio = max_ratio;
    return c;
  }
  static Contract Untouched() { return make(Kind::untouched); }
  static Contract UlpOrBudget(int64_t ulps, double budget_c, std::string k_dim, double max_ratio = 0) {
    Contract c = make(Kind::ulp_or_budget);
    c.ulps = ulps;
    c.budget_c = budget_c;
    c.k_dim = std::move(k_dim);
    c.max_ratio = max_ratio;
    return c;
  }

  static Contract TopkSet() { return make(Kind::topk_set); }

  // Refinements (abs_rel; hard also for ulp_or_budget): each returns the changed copy.
  Contract atol_by(Scale s) const {
    Contract c = *this;
    c.atol_scale = s;
    return c;
  }
  Contract plus_ulps(int64_t n) const {
    Contract c = *this;
    c.tol_ulps = n;
    return c;
  }
  Contract plus_reference_budget() const {
    Contract c = *this;
    c.plus_budget = true;
    return c;
  }
  Contract with_hard(Hard h) const {
    Contract c = *this;
    c.hard = h;
    c.hard.on = true;
    return c;
  }
  Contract self_consistent_scale(DType amax, double floor = 0) const {
    Contract c = *this;
    c.scale_consistent = true;
    c.amax_dtype = amax;
    c.amax_floor = floor;
    return c;
  }

  std::string str() const;
  bool needs_budget() const { return kind == Kind::ulp_or_budget || kind == Kind::topk_set || plus_budget; }

 private:
  static Contract make(Kind k) {
    Contract c;
    c.kind = k;
    return c;
  }  // "exact", "max_ulp(1)", "int_code(1, 1%)", "abs_rel(1e-4, 0.0078125, 0.5%)"
};

}  // namespace kcs
