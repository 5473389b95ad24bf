// Reference K2 MLA Prolog Quant (spec §4.3): the primitive references called step by step in the
// normative order, with exactly the declared casts in between. Every stage's input and output is
// recorded in extras->intermediates under the names conformance/stages/mla_prolog.cc binds (some
// twice, in the [1, t, n] shape a B = 1 gemm_bf16 stage takes and in the [t, n] shape the next
// primitive takes: kcs tensors have no reshaped views).
#include "kcs/kernels/mla_prolog.h"

#include <cmath>
#include <cstring>
#include <vector>

#include "kcs/backend.h"
#include "kcs/formats.h"
#include "kcs/kernels/gemm_bf16.h"
#include "kcs/kernels/gemm_i8.h"
#include "kcs/kernels/q8.h"
#include "kcs/kernels/rmsnorm.h"
#include "kcs/kernels/rope.h"
#include "kcs/kernels/scatter.h"
#include "reference/cast_points.h"
#include "reference/kernels.h"

namespace kcs::ref {

namespace {

using Vf = std::vector<float>;
using Vd = std::vector<double>;
using Vu = std::vector<uint16_t>;

size_t sz(int64_t n) { return static_cast<size_t>(n); }

Vf widen(const uint16_t* b, int64_t n) {
  Vf v(sz(n));
  for (int64_t j = 0; j < n; ++j) v[sz(j)] = bf16_to_float(b[j]);
  return v;
}

// A recorded stage tensor: `n` elements of `src` in a tensor of the given shape.
void record(Extras* ex, const std::string& name, DType dt, Shape shape, const void* src) {
  if (!ex) return;
  Tensor t(dt, std::move(shape));
  if (t.nbytes()) std::memcpy(t.raw(), src, t.nbytes());
  ex->intermediates[name] = std::move(t);
}

// bf16 GEMM of rows [0, m) through the primitive reference, rounded to BF16 patterns in y.
void gemm_bf16_rounded(const GemmBf16RefArgs& g, uint16_t* y, int64_t ldy, double* pre, double* abs) {
  Vd v(sz(g.m * g.n)), a(sz(g.m * g.n));
  gemm_bf16_reference(g, 0, g.m, v.data(), g.n, a.data(), g.n);
  for (int64_t i = 0; i < g.m; ++i)
    for (int64_t n = 0; n < g.n; ++n) {
      const size_t e = sz(i * g.n + n);
      y[i * ldy + n] = ref::bf16_at("gemm_bf16.out_bf16", v[e]);
      if (pre) pre[i * ldy + n] = v[e];
      if (abs) abs[i * ldy + n] = a[e];
    }
}

// RMSNorm (pypto form, BF16 γ) of rows of n BF16 values at stride ld, through the primitive
// reference; pre / bud (optional) take the binary64 values and budgets, [rows, n].
void rmsnorm_rows(const uint16_t* x, int64_t ld, int64_t rows, int64_t n, const uint16_t* gamma, double eps,
                  uint16_t* y, double* pre, double* bud) {
  const Vf g = widen(gamma, n);
  Vd out(sz(n)), b(sz(n));
  for (int64_t r = 0; r < rows; ++r) {
    const Vf row = widen(x + r * ld, n);
    rmsnorm_row_reference(row.data(), g.data(), n, eps, out.data(), b.data());
    for (int64_t j = 0; j < n; ++j) {
      y[r * n + j] = ref::bf16_at("rmsnorm.y_bf16", out[sz(j)]);
      if (pre) pre[r * n + j] = out[sz(j)];
      if (bud) bud[r * n + j] = b[sz(j)];
    }
  }
}

// R-V2 on `rows` slices of R BF16 values (slice r at x + r·ldx; table row r / heads), output
// [rows, R] with pre-rounding values and the rope budget |ŷ| (BF16 tables, kcs/kernels/rope.h).
void rope_v2_rows(const uint16_t* x, int64_t ldx, int64_t rows, int64_t heads, int64_t R, const uint16_t* cos,
                  const uint16_t* sin, uint16_t* y, double* pre, double* bud) {
  RopeSliceRef s;
  s.mode = RopeMode::v2;
  s.R = R;
  Vd out(sz(R));
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t tok = r / heads;
    const Vf c = widen(cos + tok * R, R), sn = widen(sin + tok * R, R), xs = widen(x + r * ldx, R);
    s.cos = c.data();
    s.sin = sn.data();
    rope_slice_reference(s, xs.data(), out.data());
    for (int64_t j = 0; j < R; ++j) {
      y[r * R + j] = ref::bf16_at("rope.y_bf16", out[sz(j)]);
      if (pre) pre[r * R + j] = out[sz(j)];
      if (bud) bud[r * R + j] = std::fabs(out[sz(j)]);
    }
  }
}

// Scatters per-token values (row length D) of a pre-rounding / budget array into a cache-shaped
// one the same way scatter_update moves the rows (tokens in order: the last writer wins).
template <class T>
void scatter_values(const ScatterGeom& g, const T* src, const int64_t* index, int64_t t, T* dst) {
  for (int64_t i = 0; i < t; ++i)
    if (index[i] >= 0)
      for (int64_t j = 0; j < g.D; ++j) dst[scatter_elem_offset(g, index[i], j)] = src[i * g.D + j];
}

}  // namespace

Status mla_prolog(const Invocation& inv) {
  const MlaPrologDims d = mla_prolog_dims(*inv.problem);
  Extras* ex = inv.extras;
  const int64_t t = d.t, h = d.h, ql = d.q_lora, n1 = d.n1, nope = d.nope, R = d.rope, kvl = d.kv_lora;
  const int64_t qhd = d.qhd(), nq = d.nq(), nkv = d.nkv(), grp = d.group();
  const double eps_cq = d.eps_cq, eps_ckv = d.eps_ckv;
  const uint16_t* x = inv.in("token_x").data<uint16_t>();
  const uint16_t* cos = inv.in("cos").data<uint16_t>();
  const uint16_t* sin = inv.in("sin").data<uint16_t>();
  const int64_t* index = inv.in("cache_index").data<int64_t>();
  Tensor& kv_cache = inv.out("kv_cache");
  Tensor& kr_cache = inv.out("kr_cache");
  Tensor& ks_cache = inv.out("k_scale_cache");
  Tensor& q_norm_out = inv.out("q_norm_out");
  Tensor& q_norm_scale_out = inv.out("q_norm_scale_out");
  Tensor& qn_out = inv.out("query_nope_out");
  Tensor& qr_out = inv.out("query_rope_out");

  // Optional fp64 records keyed by output name (spec §11 /prerounding, /budget).
  auto pre_of = [&](const std::string& name, const Shape& s) -> double* {
    return ex ? (ex->prerounding[name] = Tensor(DType::fp64, s)).data<double>() : nullptr;
  };
  auto bud_of = [&](const std::string& name, const Shape& s) -> double* {
    return ex ? (ex->budget[name] = Tensor(DType::fp64, s)).data<double>() : nullptr;
  };

  const ref::CastScope cast_q_down("mla_prolog.q_down");  // names this stage's cast points (conformance/mutants)
  // 1. q_down: qa = bf16(x · w_dq). The source's two K halves are a summation order (spec §4.3 [R]).
  GemmBf16RefArgs g;
  g.m = t;
  g.k = h;
  g.n = ql;
  g.a = x;
  g.lda = h;
  g.w = inv.in("w_dq").data<uint16_t>();
  g.ldw = ql;
  Vu qa(sz(t * ql));
  gemm_bf16_rounded(g, qa.data(), ql, nullptr, nullptr);
  record(ex, "x_b", DType::bf16, {1, t, h}, x);
  record(ex, "w_dq_b", DType::bf16, {1, h, ql}, g.w);
  record(ex, "qa_b", DType::bf16, {1, t, ql}, qa.data());
  record(ex, "qa", DType::bf16, {t, ql}, qa.data());

  const ref::CastScope cast_q_norm("mla_prolog.q_norm");  // names this stage's cast points (conformance/mutants)
  // 2. q_norm: cq = bf16(RMSNorm_pypto(qa; gamma_cq, eps_cq)).
  Vu cq(sz(t * ql));
  Vd cq_pre(d.quant ? 0 : sz(t * ql));
  rmsnorm_rows(qa.data(), ql, t, ql, inv.in("gamma_cq").data<uint16_t>(), eps_cq, cq.data(),
               d.quant ? nullptr : cq_pre.data(), nullptr);
  record(ex, "cq", DType::bf16, {t, ql}, cq.data());

  const ref::CastScope cast_q_quant("mla_prolog.q_quant");  // names this stage's cast points (conformance/mutants)
  // 3. q_quant: Q8 of cq per token (rint, no floor), FP32 scale; non-quant: q_norm_out = cq.
  if (d.quant) {
    int8_t* codes = q_norm_out.data<int8_t>();
    float* sc = q_norm_scale_out.data<float>();
    float* ypre = ex ? (ex->prerounding["q_norm_out"] = Tensor(DType::fp32, {t, ql})).data<float>() : nullptr;
    Q8Params qp;
    for (int64_t i = 0; i < t; ++i) {
      const Vf row = widen(cq.data() + i * ql, ql);
      sc[i] = q8_row_reference(row.data(), ql, qp, codes + i * ql, ypre ? ypre + i * ql : nullptr);
    }
  } else {
    if (t * ql > 0) std::memcpy(q_norm_out.raw(), cq.data(), sz(t * ql) * 2);
    if (double* p = pre_of("q_norm_out", {t, ql})) std::memcpy(p, cq_pre.data(), sz(t * ql) * sizeof(double));
  }

  const ref::CastScope cast_q_up("mla_prolog.q_up");  // names this stage's cast points (conformance/mutants)
  // 4. q_up: qb [t, n1 * qhd], per head [nope | rope].
  Vu qb(sz(t * nq));
  if (d.quant) {
    GemmI8Args a;
    a.m = t;
    a.k = ql;
    a.n = nq;
    a.a = q_norm_out.data<int8_t>();
    a.lda = ql;
    a.w = inv.in("w_uq_qr").data<int8_t>();
    a.ldw = nq;
    a.s_row = q_norm_scale_out.data<float>();
    a.s_col = inv.in("dequant_scale").data<float>();
    a.y = qb.data();
    a.ldy = nq;
    a.y_dtype = DType::bf16;
    gemm_i8_reference(a, 0, t, 0, nq);
  } else {
    GemmBf16RefArgs u;
    u.m = t;
    u.k = ql;
    u.n = nq;
    u.a = cq.data();
    u.lda = ql;
    u.w = inv.in("w_uq_qr").data<uint16_t>();
    u.ldw = nq;
    gemm_bf16_rounded(u, qb.data(), nq, nullptr, nullptr);
    record(ex, "cq_b", DType::bf16, {1, t, ql}, cq.data());
    record(ex, "w_uq_qr_b", DType::bf16, {1, ql, nq}, u.w);
    record(ex, "qb_b", DType::bf16, {1, t, nq}, qb.data());
  }
  record(ex, "qb", DType::bf16, {t, nq}, qb.data());

  const ref::CastScope cast_q_nope("mla_prolog.q_nope");  // names this stage's cast points (conformance/mutants)
  // 5. q_nope: per head, query_nope_out[i, h] = bf16(qb[i, h, 0:nope] · w_uk[h]).
  {
    double* pre = pre_of("query_nope_out", qn_out.shape());
    double* bud = bud_of("query_nope_out", qn_out.shape());
    uint16_t* y = qn_out.data<uint16_t>();
    Vu q_nope(ex ? sz(n1 * t * nope) : 0), y_hm(ex ? sz(n1 * t * kvl) : 0);
    for (int64_t hd = 0; hd < n1; ++hd) {
      GemmBf16RefArgs u;
      u.m = t;
      u.k = nope;
      u.n = kvl;
      u.a = qb.data() + hd * qhd;
      u.lda = nq;
      u.w = inv.in("w_uk").data<uint16_t>() + hd * nope * kvl;
      u.ldw = kvl;
      gemm_bf16_rounded(u, y + hd * kvl, n1 * kvl, pre ? pre + hd * kvl : nullptr, bud ? bud + hd * kvl : nullptr);
      if (!ex) continue;
      for (int64_t i = 0; i < t; ++i) {
        std::memcpy(&q_nope[sz((hd * t + i) * nope)], qb.data() + i * nq + hd * qhd, sz(nope) * 2);
        std::memcpy(&y_hm[sz((hd * t + i) * kvl)], y + (i * n1 + hd) * kvl, sz(kvl) * 2);
      }
    }
    record(ex, "q_nope", DType::bf16, {n1, t, nope}, q_nope.data());
    record(ex, "query_nope_hm", DType::bf16, {n1, t, kvl}, y_hm.data());
  }

  const ref::CastScope cast_q_rope("mla_prolog.q_rope");  // names this stage's cast points (conformance/mutants)
  // 6. q_rope: query_rope_out[i, h] = bf16(R-V2(qb[i, h, nope:], cos[i], sin[i])).
  {
    rope_v2_rows(qb.data() + nope, qhd, t * n1, n1, R, cos, sin, qr_out.data<uint16_t>(),
                 pre_of("query_rope_out", qr_out.shape()), bud_of("query_rope_out", qr_out.shape()));
    if (ex) {
      Vu q_rope(sz(t * n1 * R));
      for (int64_t r = 0; r < t * n1; ++r) std::memcpy(&q_rope[sz(r * R)], qb.data() + r * qhd + nope, sz(R) * 2);
      record(ex, "q_rope_in", DType::bf16, {t, n1, R}, q_rope.data());
    }
  }

  const ref::CastScope cast_kv_down("mla_prolog.kv_down");  // names this stage's cast points (conformance/mutants)
  // 7. kv_down: kv = bf16(x · w_dkv_kr), [t, kv_lora + rope].
  GemmBf16RefArgs k;
  k.m = t;
  k.k = h;
  k.n = nkv;
  k.a = x;
  k.lda = h;
  k.w = inv.in("w_dkv_kr").data<uint16_t>();
  k.ldw = nkv;
  Vu kv(sz(t * nkv));
  gemm_bf16_rounded(k, kv.data(), nkv, nullptr, nullptr);
  record(ex, "w_dkv_kr_b", DType::bf16, {1, h, nkv}, k.w);
  record(ex, "kv_b", DType::bf16, {1, t, nkv}, kv.data());

  const ref::CastScope cast_k_rope("mla_prolog.k_rope");  // names this stage's cast points (conformance/mutants)
  // 8. k_rope: kr = bf16(R-V2(kv[kv_lora:], cos[i], sin[i])).
  Vu kr(sz(t * R));
  Vd kr_pre(sz(t * R)), kr_bud(sz(t * R));
  rope_v2_rows(kv.data() + kvl, nkv, t, 1, R, cos, sin, kr.data(), kr_pre.data(), kr_bud.data());
  if (ex) {
    Vu k_rope(sz(t * R));
    for (int64_t i = 0; i < t; ++i) std::memcpy(&k_rope[sz(i * R)], kv.data() + i * nkv + kvl, sz(R) * 2);
    record(ex, "k_rope_in", DType::bf16, {t, 1, R}, k_rope.data());
    record(ex, "kr", DType::bf16, {t, 1, R}, kr.data());
    record(ex, "kr_rows", DType::bf16, {t, R}, kr.data());
  }

  const ref::CastScope cast_kv_norm("mla_prolog.kv_norm");  // names this stage's cast points (conformance/mutants)
  // 9. kv_norm: ckv = bf16(RMSNorm_pypto(kv[0:kv_lora]; gamma_ckv, eps_ckv)).
  Vu ckv(sz(t * kvl));
  Vd ckv_pre(sz(t * kvl));
  rmsnorm_rows(kv.data(), nkv, t, kvl, inv.in("gamma_ckv").data<uint16_t>(), eps_ckv, ckv.data(), ckv_pre.data(),
               nullptr);
  if (ex) {
    Vu ckv_in(sz(t * kvl));
    for (int64_t i = 0; i < t; ++i) std::memcpy(&ckv_in[sz(i * kvl)], kv.data() + i * nkv, sz(kvl) * 2);
    record(ex, "ckv_in", DType::bf16, {t, kvl}, ckv_in.data());
    record(ex, "ckv", DType::bf16, {t, kvl}, ckv.data());
  }

  const ref::CastScope cast_kv_quant("mla_prolog.kv_quant");  // names this stage's cast points (conformance/mutants)
  // 10. kv_quant: 4 groups of kv_lora/4 per token, Q8 each (rint, no floor), FP32 scales.
  std::vector<int8_t> kv_codes(d.quant ? sz(t * kvl) : 0);
  Vf k_scale(d.quant ? sz(t * kMlaKvGroups) : 0), kv_ypre(d.quant ? sz(t * kvl) : 0);
  if (d.quant) {
    Q8Params qp;
    for (int64_t r = 0; r < t * kMlaKvGroups; ++r) {
      const Vf row = widen(ckv.data() + r * grp, grp);
      k_scale[sz(r)] = q8_row_reference(row.data(), grp, qp, kv_codes.data() + r * grp, kv_ypre.data() + r * grp);
    }
    record(ex, "ckv_groups", DType::bf16, {t * kMlaKvGroups, grp}, ckv.data());
    record(ex, "kv_codes", DType::i8, {t * kMlaKvGroups, grp}, kv_codes.data());
    record(ex, "kv_codes_rows", DType::i8, {t, kvl}, kv_codes.data());
    record(ex, "k_scale", DType::fp32, {t * kMlaKvGroups, 1}, k_scale.data());
    record(ex, "k_scale_rows", DType::fp32, {t, kMlaKvGroups}, k_scale.data());
  }

  // 11. scatters (spec §1.6): tokens in order, negative index skipped, last writer wins.
  const ScatterGeom gkv = mla_prolog_cache_geom(d, MlaCache::kv), gkr = mla_prolog_cache_geom(d, MlaCache::kr),
                    gks = mla_prolog_cache_geom(d, MlaCache::k_scale);
  scatter_reference(gkr, kr_cache.raw(), kr.data(), index, t);
  if (d.quant) {
    scatter_reference(gkv, kv_cache.raw(), kv_codes.data(), index, t);
    scatter_reference(gks, ks_cache.raw(), k_scale.data(), index, t);
  } else {
    scatter_reference(gkv, kv_cache.raw(), ckv.data(), index, t);
  }
  if (ex) {
    // Pre-rounding values and budgets of the written cache rows (untouched rows: 0).
    scatter_values(gkr, kr_pre.data(), index, t, pre_of("kr_cache", kr_cache.shape()));
    scatter_values(gkr, kr_bud.data(), index, t, bud_of("kr_cache", kr_cache.shape()));
    if (d.quant) {
      float* p = (ex->prerounding["kv_cache"] = Tensor(DType::fp32, kv_cache.shape())).data<float>();
      scatter_values(gkv, kv_ypre.data(), index, t, p);
    } else {
      scatter_values(gkv, ckv_pre.data(), index, t, pre_of("kv_cache", kv_cache.shape()));
    }
  }
  return Status::Ok();
}

}  // namespace kcs::ref
