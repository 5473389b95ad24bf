#include "conformance/compare/compare.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

#include "conformance/compare/codec.h"
#include "conformance/compare/diagnosis.h"
#include "kcs/formats.h"
#include "kcs/status.h"

namespace kcs {

using compare_detail::Elem;
using compare_detail::kUlpInfinite;

namespace {

constexpr int kWorstN = 10;
constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

int64_t logical_factor(DType t) {
  if (t == DType::e2m1x2) return 2;
  if (t == DType::ue4m3x4) return 4;
  return 1;
}

// Rows = product of all but the last logical dim (1 for rank 0 and rank 1). Unlike
// Tensor::rows() this stays the mask length when the last dim is 0.
int64_t leading_rows(const Shape& s) {
  int64_t r = 1;
  for (size_t i = 0; i + 1 < s.size(); ++i) r *= s[i];
  return r;
}

Elem elem_at(const Tensor& t, int64_t i) {
  const auto* p = static_cast<const uint8_t*>(t.raw());
  return compare_detail::dispatch_codec(t.dtype(), [&](auto codec) { return decltype(codec)::get(p, i); });
}

void check_index(const Tensor& t, int64_t i) {
  const int64_t n = t.numel() * logical_factor(t.dtype());
  if (i < 0 || i >= n)
    throw Error("logical index " + std::to_string(i) + " out of range for a " + dtype_name(t.dtype()) +
                " tensor of shape " + shape_str(t.shape()));
}

// Ranking of a differing element: NaN mismatch first, then distance, then absolute error.
struct Rank {
  bool nan = false;
  int64_t ulp = 0;
  double abs = 0;  // NaN-free: a NaN mismatch ranks by `nan` alone
};
bool operator>(const Rank& x, const Rank& y) {
  if (x.nan != y.nan) return x.nan;
  if (x.ulp != y.ulp) return x.ulp > y.ulp;
  return x.abs > y.abs;
}

struct Candidate {
  int64_t flat = 0;
  Rank rank;
  double expected = 0, actual = 0, abs_err = 0;
};

// The K largest candidates (or the first K with first_k), sorted, without allocation per element.
// Ties keep the earlier index, so results do not depend on anything but the data.
class TopK {
 public:
  explicit TopK(bool first_k) : first_k_(first_k) {}
  // Cheap pre-test so the caller builds a Candidate only when it can enter.
  bool admits(const Rank& r) const {
    if (n_ < kWorstN) return true;
    return !first_k_ && r > items_[n_ - 1].rank;
  }
  void push(const Candidate& c) {
    if (!admits(c.rank)) return;
    int pos = n_ < kWorstN ? n_++ : kWorstN - 1;
    if (!first_k_) {
      while (pos > 0 && c.rank > items_[pos - 1].rank) {
        items_[pos] = items_[pos - 1];
        --pos;
      }
    }
    items_[pos] = c;
  }
  int size() const { return n_; }
  const Candidate& operator[](int i) const { return items_[i]; }

 private:
  bool first_k_;
  int n_ = 0;
  std::array<Candidate, kWorstN> items_{};
};

struct ScanOptions {
  const std::vector<uint8_t>* row_mask = nullptr;
  bool mask_selects_zero = false;  // untouched: scan the rows whose mask byte is 0
  bool payload_exact = false;      // untouched: NaN payloads must match too
  bool first_k = false;            // untouched: list the first changed elements
  const Contract* contract = nullptr;
  const CompareContext* ctx = nullptr;  // ulp_or_budget
};

double value_f(const Tensor& t, int64_t i) {
  return t.dtype() == DType::fp64 ? t.data<double>()[i] : static_cast<double>(t.data<float>()[i]);
}

struct Scan {
  Metrics m;
  int64_t nan_mismatches = 0;
  int64_t nonzero_dist = 0;  // distance != 0, NaN mismatches included (int_code count)
  int64_t over_ulps = 0;     // distance > contract.ulps, NaN mismatches included (max_ulp)
  int64_t violations = 0;    // abs_rel
  double max_tol_ratio = 0;  // abs_rel: max |a-e| / (atol + rtol|e|)
  bool have_binding = false;
  Candidate binding;  // abs_rel: the element with the largest tolerance ratio
  double binding_tol = kNaN;  // its tolerance
  // Hard part and scale self-consistency (contract.h): elements that break them, the largest
  // |err| / hard bound, and the first element that broke one (with why).
  int64_t hard_violations = 0;
  int64_t inconsistent = 0;
  double max_hard_ratio = 0;
  bool have_hard = false;
  Candidate hard_first;
  std::string hard_why;
  // The rounding-bias statistics of the elements with a zero shared-input bound (binary32_gated).
  Metrics gated;
  TopK top{false};
};

double scale_factor(Contract::Scale s, double rms) {
  switch (s) {
    case Contract::Scale::one: return 1;
    case Contract::Scale::rms: return rms;
    case Contract::Scale::max1_rms: return std::max(1.0, rms);
  }
  return 1;
}

// Q8 step 5 in binary32, stored in `out` (fp16 or fp32): the scale an amax `a` gives.
double q8_scale_of(float a, DType out) {
  if (a == 0) return 0;
  const float sd = 1.0f / (127.0f / a);
  return out == DType::fp16 ? static_cast<double>(fp16_to_float(fp16_from_float(sd))) : static_cast<double>(sd);
}

// Whether scale `s` (format `out`) is s(a) for some amax a of format `amax_t` (bf16 or fp32),
// a = max(a, floor) when a floor applies. Searches the amax values whose scale can round to s:
// 127 * [s - ulp(s), s + ulp(s)], at most 2^16 of them.
bool q8_scale_consistent(double s, DType out, DType amax_t, double floor) {
  if (!std::isfinite(s) || s < 0) return false;
  const float ffloor = static_cast<float>(floor);
  if (s == 0) return floor <= 0;
  if (floor > 0 && q8_scale_of(ffloor, out) == s) return true;
  const double u = format_ulp(out, s);
  const double lo = 127.0 * std::max(s - u, 0.0), hi = 127.0 * (s + u);
  const bool bf = amax_t == DType::bf16;
  uint32_t b0, b1;
  if (bf) {
    b0 = f32_bits(static_cast<float>(lo)) >> 16;
    b1 = (f32_bits(static_cast<float>(hi)) + 0xFFFFu) >> 16;
  } else {
    b0 = f32_bits(static_cast<float>(lo));
    b1 = f32_bits(static_cast<float>(hi));
    b0 = b0 > 0 ? b0 - 1 : 0;
    ++b1;
  }
  b1 = std::min(b1, b0 + (1u << 16));
  for (uint32_t b = b0; b <= b1; ++b) {
    float a = bf ? bf16_to_float(static_cast<uint16_t>(b)) : f32_from_bits(b);
    if (!std::isfinite(a)) break;
    if (floor > 0) a = std::max(a, ffloor);
    if (q8_scale_of(a, out) == s) return true;
  }
  return false;
}

bool binary32_gated(const Contract& c, DType t, const CompareContext* ctx, const Tensor& expected);

template <class C>
void scan_tensor(const Tensor& expected, const Tensor& actual, const Shape& lshape, const ScanOptions& o,
                 Scan* s) {
  const auto* pe = static_cast<const uint8_t*>(expected.raw());
  const auto* pa = static_cast<const uint8_t*>(actual.raw());
  const int64_t row_len = lshape.empty() ? 1 : lshape.back();
  const int64_t rows = row_len == 0 ? 0 : leading_rows(lshape);
  const bool abs_rel = o.contract != nullptr && o.contract->kind == Contract::Kind::abs_rel;
  const bool budget = o.contract != nullptr && o.contract->kind == Contract::Kind::ulp_or_budget;
  const double bscale = budget ? o.contract->budget_c * static_cast<double>(o.ctx->k) * 0x1.0p-24 : 0;
  const int64_t budget_ulps = budget ? std::max<int64_t>(o.contract->ulps, 0) : 0;
  const bool max_ulp = o.contract != nullptr && o.contract->kind == Contract::Kind::max_ulp;
  const int64_t ulp_limit = max_ulp ? std::max<int64_t>(o.contract->ulps, 0) : 0;
  const DType dt = expected.dtype();
  const bool is_float = dt == DType::bf16 || dt == DType::fp16 || dt == DType::fp32 || dt == DType::fp64;
  const std::vector<uint8_t>* valid = o.ctx ? o.ctx->valid : nullptr;
  auto compared_row = [&](int64_t r) {
    return !(o.row_mask != nullptr && (((*o.row_mask)[static_cast<size_t>(r)] != 0) == o.mask_selects_zero));
  };
  // rms of the reference over the compared elements, for rms-scaled tolerances (spec §10.5).
  double rms = 0;
  const Contract* ct = o.contract;
  const bool hard = ct != nullptr && ct->hard.on && (abs_rel || budget);
  const bool consistent = ct != nullptr && ct->scale_consistent && is_float;
  if (ct != nullptr && (ct->atol_scale != Contract::Scale::one || (hard && ct->hard.atol_scale != Contract::Scale::one))) {
    double ss = 0;
    int64_t n = 0;
    for (int64_t r = 0; r < rows; ++r) {
      if (!compared_row(r)) continue;
      for (int64_t i = r * row_len; i < (r + 1) * row_len; ++i) {
        if (valid && !(*valid)[static_cast<size_t>(i)]) continue;
        const Elem e = C::get(pe, i);
        if (e.nan || e.inf) continue;
        ss += e.value * e.value;
        ++n;
      }
    }
    rms = n > 0 ? std::sqrt(ss / static_cast<double>(n)) : 0.0;
  }
  const double atol = abs_rel ? o.contract->atol * scale_factor(o.contract->atol_scale, rms) : 0;
  const double rtol = abs_rel ? o.contract->rtol : 0;
  const int64_t tol_ulps = abs_rel ? o.contract->tol_ulps : 0;
  const double hard_atol = hard ? ct->hard.atol * scale_factor(ct->hard.atol_scale, rms) : 0;
  const bool b32 = ct != nullptr && binary32_gated(*ct, dt, o.ctx, expected);
  const bool plus_budget = abs_rel && ct->plus_budget;  // compare_tensor checked the budget's shape

  Metrics& m = s->m;
  // Sums over pairs where both values are finite (cosine, SNR).
  double see = 0, saa = 0, sea = 0, snoise = 0;
  bool any_row = false;
  Rank worst_row_rank;

  for (int64_t r = 0; r < rows; ++r) {
    if (!compared_row(r)) continue;
    bool row_mismatch = false;
    Rank row_rank;
    const int64_t base = r * row_len;
    for (int64_t j = 0; j < row_len; ++j) {
      const int64_t i = base + j;
      if (valid && !(*valid)[static_cast<size_t>(i)]) continue;
      ++m.numel;
      const Elem e = C::get(pe, i);
      const Elem a = C::get(pa, i);
      const bool same = o.payload_exact ? e.bits == a.bits : compare_detail::elem_same(e, a);
      const bool finite = !(e.nan || e.inf || a.nan || a.inf);
      if (finite) {
        see += e.value * e.value;
        saa += a.value * a.value;
        sea += e.value * a.value;
      }
      if (same) {
        ++m.ulp_hist[0];
        continue;
      }
      // From here on: a differing element (the rare path).
      ++m.mismatches;
      const int64_t d = compare_detail::elem_distance(e, a);
      Rank rk;
      double abs_err;
      if (d < 0) {
        ++s->nan_mismatches;
        ++m.ulp_hist[kUlpBuckets - 1];
        ++s->nonzero_dist;
        ++s->over_ulps;
        rk.nan = true;
        abs_err = kNaN;
      } else {
        ++m.ulp_hist[ulp_bucket(d)];
        m.max_ulp = std::max(m.max_ulp, d);
        if (d != 0) ++s->nonzero_dist;
        if (d > ulp_limit) ++s->over_ulps;
        // Both NaN here means only the payload differs (untouched): no numeric error.
        abs_err = (e.nan && a.nan) ? 0.0 : std::fabs(a.value - e.value);
        m.max_abs = std::max(m.max_abs, abs_err);
        // rel only where expected is a finite nonzero number (rel of an Inf is meaningless).
        if (e.value != 0 && !e.inf && !e.nan) m.max_rel = std::max(m.max_rel, abs_err / std::fabs(e.value));
        rk.ulp = d;
        rk.abs = abs_err;
        if (finite) snoise += (a.value - e.value) * (a.value - e.value);
        if (is_float && finite && d > 0) {
          const bool toward = std::fabs(a.value) < std::fabs(e.value);
          const double dd = static_cast<double>(d);
          ++m.biased_n;
          m.toward_zero += toward;
          m.signed_ulp_sum += toward ? dd : -dd;
          m.signed_ulp_sq += dd * dd;
          if (b32 && o.ctx->budget->data<double>()[i] == 0) {
            ++s->gated.biased_n;
            s->gated.toward_zero += toward;
            s->gated.signed_ulp_sum += toward ? dd : -dd;
            s->gated.signed_ulp_sq += dd * dd;
          }
        }
      }
      if (abs_rel || budget) {
        double ratio;
        bool violates;
        double part_tol = kNaN;  // the ratio part's tolerance at this element (abs_rel)
        double shared = 0;       // its reference budget B (plus_budget), inside part_tol
        if (budget && !rk.nan && d <= budget_ulps) {
          // Within the ulp allowance; the margin still reports how much of the error budget the
          // difference uses, so a 1-ulp flip far inside its budget does not read as "at the limit".
          violates = false;
          ratio = budget_ulps > 0 ? static_cast<double>(d) / static_cast<double>(budget_ulps) : 0.0;
          if (!a.inf && !a.nan && !e.inf) {
            const double pre = o.ctx->prerounding ? value_f(*o.ctx->prerounding, i) : e.value;
            const double tol = 0.5 * format_ulp(expected.dtype(), pre) + bscale * o.ctx->budget->data<double>()[i];
            if (tol > 0) ratio = std::min(ratio, std::fabs(a.value - pre) / tol);
          }
        } else if (budget && !rk.nan && !a.inf && !a.nan) {
          const double pre = o.ctx->prerounding ? value_f(*o.ctx->prerounding, i) : e.value;
          const double tol = 0.5 * format_ulp(expected.dtype(), pre) + bscale * o.ctx->budget->data<double>()[i];
          const double err = std::fabs(a.value - pre);
          violates = !(err <= tol);
          ratio = tol > 0 ? err / tol : (err > 0 ? kInf : 0.0);
          if (budget_ulps > 0) ratio = std::min(ratio, static_cast<double>(d) / static_cast<double>(budget_ulps));
        } else if (rk.nan || d == kUlpInfinite) {
          // NaN mismatch or an Inf on one side: atol + rtol*|Inf| would excuse the latter.
          ratio = kInf;
          violates = true;
        } else {
          shared = plus_budget ? o.ctx->budget->data<double>()[i] : 0.0;
          const double tol = atol + rtol * std::fabs(e.value) +
                             (tol_ulps > 0 ? static_cast<double>(tol_ulps) * format_ulp(dt, e.value) : 0.0) + shared;
          part_tol = tol;
          violates = abs_err > tol;
          ratio = tol > 0 ? abs_err / tol : (abs_err > 0 ? kInf : 0.0);
        }
        if (violates) ++s->violations;
        if (!s->have_binding || ratio > s->max_tol_ratio) {
          s->have_binding = true;
          s->max_tol_ratio = ratio;
          s->binding = {i, rk, e.value, a.value, abs_err};
          s->binding_tol = part_tol;
        }
        if (hard || consistent) {
          double hr = 0;
          std::string why;
          if (rk.nan || d == kUlpInfinite) {
            hr = kInf;
            why = "a NaN or Inf mismatch";
          } else if (hard) {
            const Contract::Hard& h = ct->hard;
            double tol = hard_atol + h.rtol * std::fabs(e.value) +
                         (h.ulps > 0 ? static_cast<double>(h.ulps) * format_ulp(dt, e.value) : 0.0);
            if (h.mul > 0 && std::isfinite(part_tol)) tol = std::max(tol, h.mul * (part_tol - shared));
            tol += shared;
            hr = tol > 0 ? abs_err / tol : (abs_err > 0 ? kInf : 0.0);
            if (h.dulp >= 0)
              hr = std::min(hr, h.dulp > 0 ? static_cast<double>(d) / static_cast<double>(h.dulp) : (d > 0 ? kInf : 0.0));
            if (hr > 1) why = fmt::format("|err| {:.9g} > hard bound {:.9g}", abs_err, tol);
          }
          if (consistent && !rk.nan && !q8_scale_consistent(a.value, dt, ct->amax_dtype, ct->amax_floor)) {
            ++s->inconsistent;
            hr = kInf;
            why = fmt::format("not self-consistent: no {} amax a gives {:.9g} = {}(1/(127/a))", dtype_name(ct->amax_dtype),
                              a.value, dtype_name(dt));
          }
          s->max_hard_ratio = std::max(s->max_hard_ratio, hr);
          if (hr > 1) {
            if (s->hard_violations++ == 0) {
              s->have_hard = true;
              s->hard_first = {i, rk, e.value, a.value, abs_err};
              s->hard_why = why;
            }
          }
        }
      }
      if (!row_mismatch || rk > row_rank) row_rank = rk;
      row_mismatch = true;
      if (s->top.admits(rk)) s->top.push({i, rk, e.value, a.value, abs_err});
    }
    if (row_mismatch && (!any_row || row_rank > worst_row_rank)) {
      any_row = true;
      worst_row_rank = row_rank;
      m.worst_row = r;
      m.worst_row_max_ulp = row_rank.nan ? -1 : row_rank.ulp;
    }
  }

  m.mismatch_ratio = m.numel > 0 ? static_cast<double>(m.mismatches) / static_cast<double>(m.numel) : 0.0;
  if (see == 0 && saa == 0) {
    m.cosine = 1;
  } else if (see == 0 || saa == 0) {
    m.cosine = 0;
  } else {
    m.cosine = sea / (std::sqrt(see) * std::sqrt(saa));
  }
  m.snr_db = snoise == 0 ? kInf : 10.0 * std::log10(see / snoise);

  m.worst.reserve(static_cast<size_t>(s->top.size()));
  for (int k = 0; k < s->top.size(); ++k) {
    const Candidate& c = s->top[k];
    WorstElement w;
    w.index = unravel(lshape, c.flat);
    w.expected = c.expected;
    w.actual = c.actual;
    w.abs_err = c.abs_err;
    w.ulp = c.rank.nan ? -1 : c.rank.ulp;
    m.worst.push_back(std::move(w));
  }
}

void run_scan(const Tensor& expected, const Tensor& actual, const ScanOptions& o, Scan* s) {
  s->top = TopK(o.first_k);
  const Shape lshape = logical_shape(expected);
  compare_detail::dispatch_codec(expected.dtype(), [&](auto codec) {
    scan_tensor<decltype(codec)>(expected, actual, lshape, o, s);
    return 0;
  });
}

// ---- message formatting --------------------------------------------------------------------

std::string fmt_num(double v) { return fmt::format("{:.6g}", v); }
std::string fmt_pct(double r) { return fmt::format("{:.3g}%", r * 100); }

std::string fmt_value(DType t, const Elem& e) {
  if (dtype_is_int(t)) return std::to_string(static_cast<int64_t>(e.bits));
  if (e.nan) return "nan";
  std::string v;
  if (e.inf) {
    v = e.value > 0 ? "inf" : "-inf";
  } else {
    v = fmt::format(t == DType::fp64 ? "{:.17g}" : "{:.9g}", e.value);
  }
  // Show the code of the narrow formats: that is what a kernel engineer greps a dump for.
  switch (t) {
    case DType::bf16:
    case DType::fp16: return fmt::format("{} [0x{:04x}]", v, e.bits);
    case DType::ue4m3x4: return fmt::format("{} [0x{:02x}]", v, e.bits);
    case DType::e2m1x2: return fmt::format("{} [0x{:x}]", v, e.bits);
    default: return v;
  }
}

std::string fmt_dist(DType t, int64_t d) {
  if (d < 0) return "NaN mismatch";
  if (d == kUlpInfinite) return "Inf mismatch";
  if (dtype_is_int(t)) return "diff " + std::to_string(d);
  if (d == 0) return "0 ulp, other code for the same value";  // +0 vs -0, or a NaN payload
  return std::to_string(d) + " ulp";
}

// "name[3, 17]: expected 12, got 14" for the element at logical flat index `flat`.
std::string fmt_element(const std::string& name, const Tensor& expected, const Tensor& actual, int64_t flat) {
  const std::vector<int64_t> idx = unravel(logical_shape(expected), flat);
  std::string s = name + "[";
  for (size_t k = 0; k < idx.size(); ++k) s += (k ? ", " : "") + std::to_string(idx[k]);
  s += "]: expected " + fmt_value(expected.dtype(), elem_at(expected, flat)) + ", got " +
       fmt_value(actual.dtype(), elem_at(actual, flat));
  return s;
}

int64_t flat_of(const Shape& lshape, const std::vector<int64_t>& idx) {
  int64_t f = 0;
  for (size_t k = 0; k < idx.size(); ++k) f = f * lshape[k] + idx[k];
  return f;
}

double ratio_or_inf(double x, double limit) {
  if (limit > 0) return x / limit;
  return x > 0 ? kInf : 0.0;
}

// Rounding-bias check of float contracts that allow ulp differences. The reference's error model:
// a correctly rounding backend that sums in another order differs from the reference by rounding
// errors whose sign is symmetric, so each differing element points toward zero with probability
// 1/2 and the signed distances sum to about 0. Under that model, T (differences toward zero of m)
// has |2T - m| <= z sqrt(m) and the signed sum S has |S| <= z sqrt(sum d^2) except with probability
// ~1e-9 for z = 6; truncation (every difference toward zero) exceeds it once m > 36.
constexpr double kBiasZ = 6;
// Binary32 abs_rel outputs (K3's score): a correct backend's error there is its own sum's rounding
// plus what it shares with other elements through inputs it computes in its own binary32 order
// (K3: the weights GEMM, the q path's BF16 roundings). Shared errors are not independent across
// elements: a weights GEMM in another order moves every score of a token by a common relative
// error of several 2^-24 of either sign, as a truncation's [0, 1) ulp does, so the check counts
// only the elements whose shared-input bound (/budget/<name>) is 0, where the reference has proven
// that every correct backend reproduces the shared inputs bit for bit; there the model above holds.
bool binary32_gated(const Contract& c, DType t, const CompareContext* ctx, const Tensor& expected) {
  return t == DType::fp32 && c.kind == Contract::Kind::abs_rel && ctx != nullptr && ctx->budget != nullptr &&
         ctx->budget->numel() == expected.numel();
}
bool bias_checked(const Contract& c, DType t) {
  using K = Contract::Kind;
  const bool fl = t == DType::bf16 || t == DType::fp16 || t == DType::fp32 || t == DType::fp64;
  // abs_rel only on 16-bit outputs, where the final round-to-nearest dominates the error: a
  // binary32 abs_rel output admits other formulas (K3's regrouped score epilogue rounds in
  // binary32 at other points), whose errors need not be sign-symmetric.
  const bool narrow = t == DType::bf16 || t == DType::fp16;
  return fl && ((c.kind == K::max_ulp && c.ulps > 0) || c.kind == K::ulp_or_budget || (c.kind == K::abs_rel && narrow));
}
// Observed / allowed of the larger of the two statistics (<= 1: no detectable bias).
double bias_ratio(const Metrics& m) {
  if (m.biased_n == 0) return 0;
  const double n = static_cast<double>(m.biased_n);
  const double count = std::fabs(2.0 * static_cast<double>(m.toward_zero) - n) / (kBiasZ * std::sqrt(n));
  const double sum = m.signed_ulp_sq > 0 ? std::fabs(m.signed_ulp_sum) / (kBiasZ * std::sqrt(m.signed_ulp_sq)) : 0;
  return std::max(count, sum);
}
std::string bias_message(const std::string& name, const Metrics& m) {
  const double n = static_cast<double>(m.biased_n);
  return fmt::format(
      "{}: rounding bias: {} of {} differing elements point toward zero, signed mean {:+.3g} ulp per differing "
      "element (an unbiased rounding keeps |2T - m| <= {:.3g} and |sum| <= {:.3g})",
      name, m.toward_zero, m.biased_n, m.signed_ulp_sum / n, kBiasZ * std::sqrt(n), kBiasZ * std::sqrt(m.signed_ulp_sq));
}

CheckResult fail_early(const std::string& name, const std::string& contract, const std::string& msg) {
  CheckResult r;
  r.name = name;
  r.contract = contract;
  r.passed = false;
  r.margin = kInf;
  r.message = name + ": " + msg;
  // Nothing was compared: NaN says "not computed" instead of claiming a perfect match.
  r.metrics.cosine = kNaN;
  r.metrics.snr_db = kNaN;
  return r;
}

// Shared precondition checks; returns an empty string when the pair can be compared.
std::string pair_problem(const Tensor& expected, const Tensor& actual, const std::vector<uint8_t>* mask,
                         const char* mask_name) {
  if (expected.dtype() != actual.dtype())
    return std::string("dtype mismatch: expected ") + dtype_name(expected.dtype()) + ", got " +
           dtype_name(actual.dtype());
  if (expected.shape() != actual.shape())
    return "shape mismatch: expected " + shape_str(expected.shape()) + ", got " + shape_str(actual.shape());
  if (mask != nullptr && expected.numel() > 0) {
    const int64_t rows = leading_rows(logical_shape(expected));
    if (static_cast<int64_t>(mask->size()) != rows)
      return std::string(mask_name) + " has " + std::to_string(mask->size()) + " entries for " +
             std::to_string(rows) + " rows of shape " + shape_str(expected.shape());
  }
  return {};
}

// ---- topk_set (spec §10.5 K3 topk_idxs) ---------------------------------------------------------

CheckResult compare_topk_set(const std::string& name, const Tensor& expected, const Tensor& actual,
                             const std::string& cstr, const CompareContext* ctx) {
  if (expected.dtype() != DType::i32) return fail_early(name, cstr, "topk_set needs int32 indices");
  if (ctx == nullptr || ctx->prerounding == nullptr || ctx->budget == nullptr)
    return fail_early(name, cstr, "contract " + cstr + " needs the reference's keys /prerounding/" + name +
                                      " and tolerances /budget/" + name);
  const Tensor& key = *ctx->prerounding;
  const Tensor& tau = *ctx->budget;
  const int64_t L = expected.row_len();
  const int64_t rows = L == 0 ? 0 : leading_rows(expected.shape());
  const int64_t N = key.rank() == 0 ? 0 : key.row_len();
  if ((key.dtype() != DType::fp64 && key.dtype() != DType::fp32) || tau.dtype() != DType::fp64 ||
      key.shape() != tau.shape() || (rows > 0 && (N == 0 || key.numel() != rows * N)))
    return fail_early(name, cstr,
                      "/prerounding/" + name + " (keys, float) and /budget/" + name +
                          " (float64) must both be [rows, N] with one row per index row; got " +
                          shape_str(key.shape()) + " and " + shape_str(tau.shape()));
  const int32_t* e = expected.data<int32_t>();
  const int32_t* a = actual.data<int32_t>();
  const double* tv = tau.data<double>();

  CheckResult r;
  r.name = name;
  r.contract = cstr;
  Metrics& m = r.metrics;
  double margin = 0;
  std::string first;  // the first failure, in row order
  auto fail = [&](int64_t row, int64_t pos, const std::string& why, double ratio) {
    margin = std::max(margin, ratio);
    if (first.empty()) first = name + "[row " + std::to_string(row) + ", entry " + std::to_string(pos) + "]: " + why;
  };
  std::vector<uint8_t> seen(static_cast<size_t>(N), 0);
  for (int64_t row = 0; row < rows; ++row) {
    const int32_t* er = e + row * L;
    const int32_t* ar = a + row * L;
    auto key_of = [&](int64_t v) { return value_f(key, row * N + v); };
    // The expected row is k valid indices then -1: anything else is a broken reference bundle.
    int64_t k = 0;
    while (k < L && er[k] != -1) ++k;
    double e_sum = 0, kth = kInf;
    for (int64_t i = 0; i < L; ++i) {
      const bool valid = i < k && er[i] >= 0 && er[i] < N && std::isfinite(key_of(er[i]));
      if ((i < k) != valid || (i >= k && er[i] != -1))
        return fail_early(name, cstr,
                          "expected row " + std::to_string(row) + " is not k valid indices followed by -1 (entry " +
                              std::to_string(i) + " = " + std::to_string(er[i]) + ")");
      if (valid) {
        e_sum += key_of(er[i]);
        kth = std::min(kth, key_of(er[i]));
      }
    }
    bool row_bad = false;
    int64_t row_diff = 0;
    double a_sum = 0, tau_sum = 0;
    for (int64_t i = 0; i < L; ++i) {
      row_diff += er[i] != ar[i];
      if (i >= k) {
        if (ar[i] != -1) {
          fail(row, i, "expected -1 after the " + std::to_string(k) + " chosen entries, got " + std::to_string(ar[i]),
               kInf);
          row_bad = true;
        }
        continue;
      }
      const int64_t v = ar[i];
      if (v < 0 || v >= N || !std::isfinite(key_of(v))) {
        fail(row, i,
             "index " + std::to_string(v) + (v == -1 ? " (-1) where " + std::to_string(k) + " entries are due"
                                                      : " is not a valid index of this row"),
             kInf);
        row_bad = true;
        continue;
      }
      if (seen[static_cast<size_t>(v)]) {
        fail(row, i, "index " + std::to_string(v) + " chosen twice", kInf);
        row_bad = true;
        continue;
      }
      seen[static_cast<size_t>(v)] = 1;
      const double kv = key_of(v), t = tv[row * N + v];
      a_sum += kv;
      tau_sum += t;
      const double deficit = kth - kv;  // > 0: below the k-th best
      const double ratio = deficit <= 0 ? 0.0 : (t > 0 ? deficit / t : kInf);
      if (ratio > 1)
        fail(row, i,
             fmt::format("index {} has reference key {:.9g}, below the k-th best {:.9g} by {:.9g} > tau {:.9g}", v,
                         kv, kth, deficit, t),
             ratio);
      else
        margin = std::max(margin, ratio);
      if (ratio > 1) row_bad = true;
      if (ratio > 0 && static_cast<int>(m.worst.size()) < kWorstN) {
        WorstElement w;
        w.index = {row, i};
        w.expected = kth;
        w.actual = kv;
        w.abs_err = deficit;
        m.worst.push_back(w);
      }
    }
    for (int64_t i = 0; i < k; ++i)
      if (ar[i] >= 0 && ar[i] < N) seen[static_cast<size_t>(ar[i])] = 0;
    if (!row_bad && k > 0) {
      const double deficit = e_sum - a_sum;
      const double ratio = deficit <= 0 ? 0.0 : (tau_sum > 0 ? deficit / tau_sum : kInf);
      margin = std::max(margin, ratio);
      if (ratio > 1) {
        fail(row, 0,
             fmt::format("sum of the chosen keys {:.9g} is below the reference top-k sum {:.9g} by {:.9g} > "
                         "sum of tau {:.9g}",
                         a_sum, e_sum, deficit, tau_sum),
             ratio);
        row_bad = true;
      }
    }
    m.numel += L;
    m.mismatches += row_diff;
    if ((row_bad || row_diff > 0) && m.worst_row < 0) m.worst_row = row;
  }
  m.mismatch_ratio = m.numel > 0 ? static_cast<double>(m.mismatches) / static_cast<double>(m.numel) : 0.0;
  // Cosine / SNR are meaningless for index sets.
  m.cosine = kNaN;
  m.snr_db = kNaN;
  r.passed = first.empty();
  r.margin = margin;
  if (!r.passed) r.message = first;
  return r;
}

}  // namespace

// ---- public API ------------------------------------------------------------------------------

Shape logical_shape(const Tensor& t) {
  Shape s = t.shape();
  const int64_t f = logical_factor(t.dtype());
  if (f == 1) return s;
  if (s.empty()) return {f};
  s.back() *= f;
  return s;
}

double element_value(const Tensor& t, int64_t logical_index) {
  check_index(t, logical_index);
  return elem_at(t, logical_index).value;
}

int64_t element_ulp(const Tensor& expected, const Tensor& actual, int64_t logical_index) {
  if (expected.dtype() != actual.dtype())
    throw Error(std::string("element_ulp: dtype mismatch (") + dtype_name(expected.dtype()) + " vs " +
                dtype_name(actual.dtype()) + ")");
  check_index(expected, logical_index);
  check_index(actual, logical_index);
  return compare_detail::elem_distance(elem_at(expected, logical_index), elem_at(actual, logical_index));
}

std::vector<int64_t> unravel(const Shape& shape, int64_t flat) {
  std::vector<int64_t> idx(shape.size(), 0);
  for (size_t k = shape.size(); k-- > 0;) {
    const int64_t d = shape[k];
    if (d <= 0) continue;
    idx[k] = flat % d;
    flat /= d;
  }
  return idx;
}

int64_t allowed_count(double rho, int64_t n) {
  if (!(rho > 0) || n <= 0) return 0;
  const double v = rho * static_cast<double>(n);
  if (!(v < static_cast<double>(n))) return n;  // rho >= 1: every element may differ
  const double nearest = std::round(v);
  // rho*n is rounded once; within 1e-9 relative of an integer it is that integer (0.07*100).
  if (std::fabs(v - nearest) <= 1e-9 * std::max(1.0, v)) return static_cast<int64_t>(nearest);
  return static_cast<int64_t>(std::ceil(v));
}

double format_ulp(DType dt, double x) {
  int mant = 52, emin = -1022;
  switch (dt) {
    case DType::bf16: mant = 7; emin = -126; break;
    case DType::fp16: mant = 10; emin = -14; break;
    case DType::fp32: mant = 23; emin = -126; break;
    default: break;
  }
  const double ax = std::fabs(x);
  int e = emin;
  if (ax > 0 && std::isfinite(ax)) e = std::max(std::ilogb(ax), emin);
  return std::ldexp(1.0, e - mant);
}

CheckResult compare_tensor(const std::string& name, const Tensor& expected, const Tensor& actual,
                           const Contract& contract, const std::vector<uint8_t>* row_mask,
                           const CompareContext* ctx) {
  const std::string cstr = contract.str();
  using K = Contract::Kind;
  if (contract.kind == K::none || contract.kind == K::untouched)
    return fail_early(name, cstr, "contract " + cstr + " cannot be used for an output");
  const std::string problem = pair_problem(expected, actual, row_mask, "row mask");
  if (!problem.empty()) return fail_early(name, cstr, problem);
  if (ctx && ctx->valid && static_cast<int64_t>(ctx->valid->size()) != shape_numel(logical_shape(expected)))
    return fail_early(name, cstr, "the valid-region mask has " + std::to_string(ctx->valid->size()) +
                                      " entries for " + std::to_string(shape_numel(logical_shape(expected))) + " elements");
  if (contract.kind == K::topk_set) {
    if (row_mask != nullptr) return fail_early(name, cstr, "topk_set takes no row mask");
    return compare_topk_set(name, expected, actual, cstr, ctx);
  }

  if (contract.kind == K::ulp_or_budget) {
    if (ctx == nullptr || ctx->budget == nullptr)
      return fail_early(name, cstr, "contract " + cstr + " needs the reference's abs-dot budget /budget/" + name);
    auto same_numel = [&](const Tensor& t) { return t.numel() == expected.numel(); };
    if (ctx->budget->dtype() != DType::fp64 || !same_numel(*ctx->budget))
      return fail_early(name, cstr, "/budget/" + name + " must be float64 with one value per element");
    if (ctx->prerounding && ((ctx->prerounding->dtype() != DType::fp64 && ctx->prerounding->dtype() != DType::fp32) ||
                             !same_numel(*ctx->prerounding)))
      return fail_early(name, cstr, "/prerounding/" + name + " must be float32/64 with one value per element");
  }
  if (contract.kind == K::abs_rel && contract.plus_budget &&
      (ctx == nullptr || ctx->budget == nullptr || ctx->budget->dtype() != DType::fp64 ||
       ctx->budget->numel() != expected.numel()))
    return fail_early(name, cstr, "contract " + cstr + " needs the reference's budget /budget/" + name +
                                      " (float64, one value per element)");
  if (contract.kind == K::abs_rel && contract.plus_budget) {
    // A NaN, Inf or negative budget would silently excuse (or poison) every comparison.
    const double* bv = ctx->budget->data<double>();
    for (int64_t i = 0; i < ctx->budget->numel(); ++i)
      if (!(bv[i] >= 0 && bv[i] < kInf))
        return fail_early(name, cstr, fmt::format("/budget/{} holds {} at flat index {}: a budget must be finite and >= 0",
                                                  name, bv[i], i));
  }
  ScanOptions o;
  o.row_mask = row_mask;
  o.contract = &contract;
  o.ctx = ctx;
  // Packed FP8/FP4 codes are data, not arithmetic results: 0x7F and 0xFF both decode to NaN but
  // are different codes (a UE4M3 scale byte must never carry a sign), so exact compares them bitwise.
  o.payload_exact = contract.kind == K::exact && (expected.dtype() == DType::e2m1x2 || expected.dtype() == DType::ue4m3x4);
  Scan s;
  run_scan(expected, actual, o, &s);

  CheckResult r;
  r.name = name;
  r.contract = cstr;
  const Metrics& m = s.m;
  const DType t = expected.dtype();
  const Shape lshape = logical_shape(expected);
  // The element the message names: the top-ranked difference (abs_rel: the largest tol ratio).
  const bool have_worst = !m.worst.empty();
  const int64_t worst_flat = have_worst ? flat_of(lshape, m.worst[0].index) : 0;
  const std::string counts_of = " of " + std::to_string(m.numel) + " elements";

  switch (contract.kind) {
    case K::exact: {
      // Exact = bit-identical except NaN payloads. +0 vs -0 is a mismatch here although its
      // d_ulp is 0: a kernel contracted exact must reproduce the sign of zero (it feeds 1/x,
      // copysign and the next stage's bit-exact checks).
      r.passed = m.mismatches == 0;
      r.margin = r.passed ? 0.0 : kInf;
      if (!r.passed)
        r.message = fmt_element(name, expected, actual, worst_flat) + " (" + fmt_dist(t, m.worst[0].ulp) + "); " +
                    std::to_string(m.mismatches) + counts_of + " differ (" + fmt_pct(m.mismatch_ratio) +
                    "), allowed 0";
      break;
    }
    case K::max_ulp: {
      const int64_t n = std::max<int64_t>(contract.ulps, 0);
      r.passed = s.nan_mismatches == 0 && m.max_ulp <= n;
      if (s.nan_mismatches > 0) {
        r.margin = kInf;
      } else if (n == 0) {
        r.margin = m.max_ulp == 0 ? 0.0 : kInf;  // max_ulp(0) behaves like exact up to ±0
      } else {
        r.margin = static_cast<double>(m.max_ulp) / static_cast<double>(n);
      }
      if (!r.passed)
        r.message = fmt_element(name, expected, actual, worst_flat) + " (" + fmt_dist(t, m.worst[0].ulp) +
                    ", allowed " + std::to_string(n) + "); " + std::to_string(s.over_ulps) + counts_of +
                    " exceed " + std::to_string(n) + " ulp (" +
                    fmt_pct(static_cast<double>(s.over_ulps) / static_cast<double>(m.numel)) + ")";
      break;
    }
    case K::int_code: {
      const int64_t allowed = allowed_count(contract.max_ratio, m.numel);
      const double maxdiff = s.nan_mismatches > 0 ? kInf : static_cast<double>(m.max_ulp);
      const bool diff_ok = maxdiff <= contract.max_diff;
      const bool count_ok = s.nonzero_dist <= allowed;
      r.passed = diff_ok && count_ok;
      r.margin = std::max(ratio_or_inf(maxdiff, contract.max_diff),
                          ratio_or_inf(static_cast<double>(s.nonzero_dist), static_cast<double>(allowed)));
      if (!r.passed)
        r.message = fmt_element(name, expected, actual, worst_flat) + " (" + fmt_dist(t, m.worst[0].ulp) +
                    ", allowed " + fmt_num(contract.max_diff) + "); " + std::to_string(s.nonzero_dist) +
                    counts_of + " differ (" +
                    fmt_pct(static_cast<double>(s.nonzero_dist) / static_cast<double>(m.numel)) + "), allowed " +
                    std::to_string(allowed) + " (" + fmt_pct(contract.max_ratio) + ")";
      break;
    }
    case K::ulp_or_budget:
    case K::abs_rel: {
      const int64_t allowed = allowed_count(contract.max_ratio, m.numel);
      // A NaN where the reference has a number (or the reverse) is a hard failure: the ratio
      // budget is for rounding noise, and rho = 100% must not turn NaN outputs into a pass.
      r.passed = s.violations <= allowed && s.nan_mismatches == 0 && s.hard_violations == 0;
      if (s.nan_mismatches > 0) {
        r.margin = kInf;
      } else {
        r.margin = s.violations == 0 ? s.max_tol_ratio
                                     : ratio_or_inf(static_cast<double>(s.violations), static_cast<double>(allowed));
        r.margin = std::max(r.margin, s.max_hard_ratio);
      }
      if (!r.passed) {
        const Candidate& b = s.binding;
        const double tol = s.binding_tol;
        std::string why;
        if (b.rank.nan || b.rank.ulp == kUlpInfinite) {
          why = fmt_dist(t, b.rank.nan ? -1 : b.rank.ulp);
        } else if (contract.kind == K::ulp_or_budget) {
          why = fmt_dist(t, b.rank.ulp) + fmt::format(", {:.3g}x its error budget", s.max_tol_ratio);
        } else {
          why = fmt::format("|err| {:.9g} > tol {:.9g}", b.abs_err, tol);  // 9 digits: boundary cases
        }
        if (s.hard_violations > 0 && s.nan_mismatches == 0) {
          // The hard part broke: name its first element, then the ratio part's count.
          r.message = fmt_element(name, expected, actual, s.hard_first.flat) + " (" + s.hard_why + "); " +
                      std::to_string(s.hard_violations) + counts_of + " break the hard part" +
                      (s.inconsistent > 0 ? " (" + std::to_string(s.inconsistent) + " scales not self-consistent)" : "") +
                      ", allowed 0; " + std::to_string(s.violations) + " beyond the ratio part's tolerance, allowed " +
                      std::to_string(allowed) + " (" + fmt_pct(contract.max_ratio) + ")";
        } else {
          r.message = fmt_element(name, expected, actual, b.flat) + " (" + why + "); " +
                      std::to_string(s.violations) + counts_of + " violate (" +
                      fmt_pct(static_cast<double>(s.violations) / static_cast<double>(m.numel)) + "), allowed " +
                      std::to_string(allowed) + " (" + fmt_pct(contract.max_ratio) + ")";
        }
      }
      break;
    }
    case K::none:
    case K::untouched:
    case K::topk_set: break;  // handled above
  }
  // The reference's unrounded value beside each listed element: a tie (x.5) or a value just
  // across a rounding boundary names the bug at once.
  Metrics& mm = s.m;
  const Tensor* pre = ctx ? ctx->prerounding : nullptr;
  const bool have_pre = pre && (pre->dtype() == DType::fp64 || pre->dtype() == DType::fp32) &&
                        pre->numel() == shape_numel(lshape);
  if (have_pre)
    for (auto& w : mm.worst) w.prerounding = value_f(*pre, flat_of(lshape, w.index));
  // The few inputs that produced a quantized element: its group's amax and its own input.
  if (ctx && ctx->quant_input && ctx->quant_group > 0)
    for (auto& w : mm.worst) {
      const int64_t f = flat_of(lshape, w.index);
      const int64_t g = ctx->quant_scale ? f : f / ctx->quant_group;
      if ((g + 1) * ctx->quant_group > ctx->quant_n) continue;
      double amax = 0;
      for (int64_t j = g * ctx->quant_group; j < (g + 1) * ctx->quant_group; ++j)
        amax = std::isnan(ctx->quant_input[j]) ? kNaN : std::max(amax, std::fabs(ctx->quant_input[j]));
      w.amax = amax;
      if (!ctx->quant_scale) w.input = ctx->quant_input[f];
    }
  const bool gated = binary32_gated(contract, t, ctx, expected);
  if (bias_checked(contract, t) || gated) {
    const Metrics& bs = gated ? s.gated : m;
    const double br = bias_ratio(bs);
    if (br > 1) {
      const std::string bm = bias_message(name, bs) + (gated ? " over the elements with no shared-input error" : "");
      r.message = r.passed ? bm : r.message + "; " + bm.substr(name.size() + 2);
      r.passed = false;
      r.margin = std::max(r.margin, br);
    }
  }
  if (!r.passed) {
    if (!mm.worst.empty() && (have_pre || !std::isnan(mm.worst[0].amax))) {
      const WorstElement& w = mm.worst[0];
      std::string at;
      if (have_pre) at = fmt::format("reference before rounding {:.9g}", w.prerounding);
      if (!std::isnan(w.amax)) at += fmt::format("{}group amax {:.9g}", at.empty() ? "" : ", ", w.amax);
      if (!std::isnan(w.input)) at += fmt::format(", input {:.9g}", w.input);
      std::string idx;
      for (size_t k = 0; k < w.index.size(); ++k) idx += (k ? ", " : "") + std::to_string(w.index[k]);
      r.message += "; at the worst element " + name + "[" + idx + "]: " + at;
    }
    r.diagnosis = diagnose(expected, actual, ctx, row_mask, mm);
    if (!r.diagnosis.empty()) r.message += "; diagnosis: " + r.diagnosis;
  }
  r.metrics = std::move(s.m);
  return r;
}

CheckResult check_untouched(const std::string& name, const Tensor& before, const Tensor& actual,
                            const std::vector<uint8_t>& touched) {
  const std::string cstr = Contract::Untouched().str();
  const std::string problem = pair_problem(before, actual, &touched, "touched-row mask");
  if (!problem.empty()) return fail_early(name, cstr, problem);

  ScanOptions o;
  o.row_mask = &touched;
  o.mask_selects_zero = true;
  o.payload_exact = true;
  o.first_k = true;
  Scan s;
  run_scan(before, actual, o, &s);

  CheckResult r;
  r.name = name;
  r.contract = cstr;
  const Metrics& m = s.m;
  r.passed = m.mismatches == 0;
  r.margin = r.passed ? 0.0 : kInf;
  if (!r.passed) {
    const WorstElement& w = m.worst[0];
    const Shape lshape = logical_shape(before);
    // Row = the index without its last coordinate, flattened.
    int64_t row = 0;
    for (size_t k = 0; k + 1 < w.index.size(); ++k) row = row * lshape[k] + w.index[k];
    r.message = fmt_element(name, before, actual, flat_of(lshape, w.index)) +
                " in untouched row " + std::to_string(row) + "; " + std::to_string(m.mismatches) + " of " +
                std::to_string(m.numel) + " untouched elements changed";
  }
  r.metrics = std::move(s.m);
  return r;
}

}  // namespace kcs
