// Declaration of RoPE (spec §1.3) as one stand-alone kernel over the three variants:
//   mode  = half (R-HALF, K1) | v2 (R-V2, K2; output left de-interleaved) | pair (R-PAIR, K3 / K5)
//   table = full (half-duplicated [T, R], K1 / K2) | half ([T, R/2], K3); R-PAIR takes half
//   table_dtype = bfloat16 (K1 / K2) | float32 (K3); cos and sin share it
//   slice = first (the rope slice is x[.., 0:R], K1) | last (x[.., D−R:D], K3 / K5)
// x and y are [T, H, D] BF16: the same per-token table row is used by every head (R-3D); the
// D − R columns outside the slice pass through unchanged. The tables have one row per token, W
// columns: R (full) or R/2 (half). K3 at PR #268 passes a single [1, R/2] row for all tokens: a
// caller broadcasts it (the result is the same as this kernel on T equal rows).
// Contract and derivation: include/kcs/kernels/rope.h.
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "decl/kernels.h"
#include "kcs/formats.h"
#include "kcs/kernels/rope.h"

namespace kcs {

namespace {

Status check_problem(const Problem& p) {
  RopeMode mode;
  if (!parse_rope_mode(p.attr("mode"), &mode)) return Status::Fail("unknown mode '" + p.attr("mode") + "'");
  const int64_t D = p.dim("D"), R = p.dim("R"), W = p.dim("W");
  if (R % 2 != 0) return Status::Fail("dimension R = " + std::to_string(R) + " (rope dim) must be even (docs/kernels/rope.md)");
  if (D < R)
    return Status::Fail("dimension D = " + std::to_string(D) + " (head dim) is smaller than the rope dim R = " +
                        std::to_string(R) + " (docs/kernels/rope.md)");
  const bool half = p.attr("table") == "half";
  if (W != (half ? R / 2 : R))
    return Status::Fail("dimension W = " + std::to_string(W) + " (cos/sin width) must be " + (half ? "R/2" : "R") +
                        " = " + std::to_string(half ? R / 2 : R) + " for table=" + p.attr("table"));
  if (mode == RopeMode::pair && !half)
    return Status::Fail("mode=pair reads one cos/sin per pair: it takes table=half ([T, R/2]), got table=full");
  return Status::Ok();
}

// The binary64 value of every rope element and its two products, formed as spec §1.3 writes it
// (BF16 x BF16/FP32 products are exact in binary64, so only the add rounds): the invariants'
// own statement of the formula, since a declaration does not call a backend.
struct Slices {
  RopeParams rp;
  std::vector<float> cos, sin;  // [T, W] widened
  bool table_f32;

  Slices(const Problem& p, const TensorMap& in) : rp(rope_params(p)) {
    table_f32 = in.at("cos").dtype() == DType::fp32;
    for (const char* name : {"cos", "sin"}) {
      const Tensor& t = in.at(name);
      std::vector<float>& v = std::string(name) == "cos" ? cos : sin;
      v.resize(static_cast<size_t>(t.numel()));
      for (int64_t k = 0; k < t.numel(); ++k)
        v[static_cast<size_t>(k)] = t.dtype() == DType::fp32 ? t.data<float>()[k] : bf16_to_float(t.data<uint16_t>()[k]);
    }
  }
  // y[j] = p1 + p2 and abs_terms[j] = |p1| + |p2| for j in [0, R) of head h of token t.
  void slice(const uint16_t* x, int64_t t, int64_t h, double* y, double* abs_terms) const {
    const int64_t R = rp.R, half = R / 2;
    const float* c = cos.data() + t * rp.W;
    const float* sn = sin.data() + t * rp.W;
    const uint16_t* xh = x + (t * rp.H + h) * rp.D + rp.off;
    auto xv = [&](int64_t j) { return static_cast<double>(bf16_to_float(xh[j])); };
    for (int64_t j = 0; j < R; ++j) {
      double p1, p2;
      if (rp.mode == RopeMode::pair) {
        const int64_t q = j / 2;
        const double x0 = xv(2 * q), x1 = xv(2 * q + 1), cq = c[q], sq = sn[q];
        // y0 = x0·c − x1·s, y1 = x0·s + x1·c
        if (j % 2 == 0) {
          p1 = x0 * cq;
          p2 = -(x1 * sq);
          y[j] = x0 * cq - x1 * sq;
        } else {
          p1 = x0 * sq;
          p2 = x1 * cq;
          y[j] = p1 + p2;
        }
      } else {
        // half / v2 (v2 de-interleaves first: evens, then odds); rotate_half: the first half takes
        // -x2, the second x1 + 0.0 (-0 -> +0).
        auto xs = [&](int64_t k) {
          if (rp.mode != RopeMode::v2) return xv(k);
          return k < half ? xv(2 * k) : xv(2 * (k - half) + 1);
        };
        const int64_t col = rp.half_table ? j % half : j;
        const double r = j < half ? -xs(j + half) : xs(j - half) + 0.0;
        p1 = xs(j) * static_cast<double>(c[col]);
        p2 = r * static_cast<double>(sn[col]);
        y[j] = p1 + p2;
      }
      abs_terms[j] = std::fabs(p1) + std::fabs(p2);
    }
  }
};

CheckResult invariant_result(const std::string& name, const std::string& rule, int64_t bad, int64_t n,
                             const std::string& first) {
  CheckResult c;
  c.name = "invariant:" + name;
  c.contract = rule;
  c.passed = bad == 0;
  c.metrics.numel = n;
  c.metrics.mismatches = bad;
  c.metrics.mismatch_ratio = n ? static_cast<double>(bad) / static_cast<double>(n) : 0;
  c.margin = bad == 0 ? 0 : INFINITY;
  if (bad) c.message = std::to_string(bad) + " of " + std::to_string(n) + " elements violate it; first: " + first;
  return c;
}

std::string where(int64_t t, int64_t h, int64_t j, uint16_t want, uint16_t got) {
  char buf[96];
  std::snprintf(buf, sizeof buf, "y[%lld, %lld, %lld] = 0x%04X, want 0x%04X", static_cast<long long>(t),
                static_cast<long long>(h), static_cast<long long>(j), got, want);
  return buf;
}

// Columns outside the rope slice are the input, bit for bit (the max_ulp branch of the output
// contract would let a pass-through column move by one unit).
CheckResult passthrough_exact(const Problem& p, const TensorMap& in, const TensorMap& out) {
  const int64_t T = p.dim("T"), H = p.dim("H"), D = p.dim("D"), R = p.dim("R");
  const int64_t off = p.attr("slice") == "last" ? D - R : 0;
  const uint16_t* x = in.at("x").data<uint16_t>();
  const uint16_t* y = out.at("y").data<uint16_t>();
  int64_t bad = 0, n = 0;
  std::string first;
  for (int64_t t = 0; t < T; ++t)
    for (int64_t h = 0; h < H; ++h)
      for (int64_t j = 0; j < D; ++j) {
        if (j >= off && j < off + R) continue;
        ++n;
        const int64_t k = (t * H + h) * D + j;
        if (x[k] != y[k] && bad++ == 0) first = where(t, h, j, x[k], y[k]);
      }
  return invariant_result("passthrough_exact", "columns outside the rope slice equal x bit for bit", bad, n, first);
}

// Where the binary64 value of a rope element is exactly zero, the output is that zero with its
// sign: spec §1.3's x1 + 0.0 turns -0 into +0, and IEEE fixes the sign of an exact zero sum.
// d_ulp treats +0 and -0 as equal, so without this check the rule would go untested. Checked
// where every binary32 evaluation (with or without FMA) must produce that exact zero: BF16
// tables (both products exact in binary32), or both products zero. With FP32 tables two
// nonzero products that cancel exactly in binary64 may leave an FMA's rounding residue.
CheckResult zero_sign(const Problem& p, const TensorMap& in, const TensorMap& out) {
  Slices sl(p, in);
  const uint16_t* x = in.at("x").data<uint16_t>();
  const uint16_t* y = out.at("y").data<uint16_t>();
  std::vector<double> v(static_cast<size_t>(sl.rp.R)), terms(v.size());
  int64_t bad = 0, n = 0;
  std::string first;
  for (int64_t t = 0; t < sl.rp.T; ++t)
    for (int64_t h = 0; h < sl.rp.H; ++h) {
      sl.slice(x, t, h, v.data(), terms.data());
      for (int64_t j = 0; j < sl.rp.R; ++j) {
        if (v[static_cast<size_t>(j)] != 0 || (sl.table_f32 && terms[static_cast<size_t>(j)] != 0)) continue;
        ++n;
        const uint16_t want = std::signbit(v[static_cast<size_t>(j)]) ? 0x8000 : 0x0000;
        const uint16_t got = y[(t * sl.rp.H + h) * sl.rp.D + sl.rp.off + j];
        if (got != want && bad++ == 0) first = where(t, h, sl.rp.off + j, want, got);
      }
    }
  return invariant_result("zero_sign", "an exactly zero rope value is output as that zero, sign included", bad, n,
                          first);
}

KernelDecl make() {
  KernelDecl d;
  d.id = "rope";
  d.title = "RoPE: R-HALF (K1), R-V2 (K2), R-PAIR (K3/K5) on a head slice, BF16 in and out";
  d.spec = "docs/kernels/rope.md";
  d.dims = {
      {"T", "tokens", 0},
      {"H", "heads per token (the token's table row is broadcast over them: R-3D)", 1},
      {"D", "head dim (>= R)", 1},
      {"R", "rope dim (even)", 2},
      {"W", "cos/sin width: R for table=full, R/2 for table=half", 1},
  };
  d.attrs = {
      {"mode", AttrDecl::Kind::choice, "half", {"half", "v2", "pair"},
       "half: R-HALF (K1); v2: de-interleave then R-HALF, output left de-interleaved (K2); pair: R-PAIR (K3/K5)"},
      {"table", AttrDecl::Kind::choice, "full", {"full", "half"},
       "full: half-duplicated [T, R] (K1/K2); half: [T, R/2] (K3; required by mode=pair)"},
      {"table_dtype", AttrDecl::Kind::choice, "bfloat16", {"bfloat16", "float32"},
       "storage of cos and sin (K1/K2: bfloat16, K3: float32)"},
      {"slice", AttrDecl::Kind::choice, "first", {"first", "last"},
       "rope columns of the head: first = [0, R) (K1), last = [D-R, D) (K3/K5)"},
  };
  d.tensors = {
      input("x", DType::bf16, {"T", "H", "D"}, "heads (BF16)"),
      dtype_from(input("cos", DType::bf16, {"T", "W"}, "cosine table"), "table_dtype"),
      dtype_from(input("sin", DType::bf16, {"T", "W"}, "sine table"), "table_dtype"),
      // Budget and c = 2.0625 derived in include/kcs/kernels/rope.h; with BF16 tables it reduces
      // to d_ulp <= 1 (spec §10.4), with FP32 tables it admits the binary32 products' rounding.
      output("y", DType::bf16, {"T", "H", "D"}, Contract::UlpOrBudget(1, 2.0625, ""),
             "rotated heads (v2: rope slice in de-interleaved order)"),
  };
  d.knobs = {{"token_tile", "tokens per work item (0 = all tokens in one item)", 16, true}};
  d.invariants = {
      {"passthrough_exact", "columns outside the rope slice equal x bit for bit", &passthrough_exact},
      {"zero_sign", "exactly zero rope values keep the sign the formula gives (x1 + 0.0 rule)", &zero_sign},
  };
  d.check_problem = &check_problem;
  return d;
}

}  // namespace

const KernelDecl& rope_decl() {
  static const KernelDecl d = make();
  return d;
}

}  // namespace kcs
