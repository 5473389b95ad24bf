// Reference K1 (spec §3.3), composed of the primitive references in the spec's normative order.
// Every stage's input and output is recorded in inv.extras->intermediates under the spec's step
// names, in the shape the primitive kernel declares (conformance/stages/indexer_prolog.cc binds
// them): where a primitive sees a reshaped view (qb [t, H·D] as [t, H, D] heads for the rope,
// q_cat [t, H, D] as [t·H, D] rows for the Hadamard, x as a batch of one [1, t, h]), the same bytes
// are recorded once per shape, because stage bindings compare shapes exactly.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "kcs/backend.h"
#include "kcs/formats.h"
#include "kcs/kernels/gemm_bf16.h"
#include "kcs/kernels/gemm_i8.h"
#include "kcs/kernels/indexer_prolog.h"
#include "kcs/kernels/layernorm.h"
#include "kcs/kernels/q8.h"
#include "kcs/kernels/rope.h"
#include "kcs/kernels/scatter.h"
#include "reference/cast_points.h"
#include "reference/kernels.h"

namespace kcs::ref {

namespace {

Tensor reshaped(const Tensor& t, Shape s) {
  Tensor o(t.dtype(), std::move(s));
  if (o.nbytes() != t.nbytes()) throw Error("indexer_prolog: bad intermediate reshape");
  if (o.nbytes()) std::memcpy(o.raw(), t.raw(), t.nbytes());
  return o;
}

// R-HALF on the first R columns of every [D] head of x [T, H, D] (BF16), exactly as ref::rope
// does it (mode half, table full BF16, slice first).
void rope_heads(const uint16_t* x, const Tensor& cos_t, const Tensor& sin_t, int64_t T, int64_t H, int64_t D,
                int64_t R, uint16_t* y) {
  RopeSliceRef s;
  s.mode = RopeMode::half;
  s.R = R;
  s.half_table = false;
  std::vector<float> c(static_cast<size_t>(R)), sn(static_cast<size_t>(R)), xs(static_cast<size_t>(R));
  std::vector<double> out(static_cast<size_t>(R)), terms(static_cast<size_t>(R));
  s.cos = c.data();
  s.sin = sn.data();
  for (int64_t t = 0; t < T; ++t) {
    for (int64_t j = 0; j < R; ++j) {
      c[static_cast<size_t>(j)] = bf16_to_float(cos_t.data<uint16_t>()[t * R + j]);
      sn[static_cast<size_t>(j)] = bf16_to_float(sin_t.data<uint16_t>()[t * R + j]);
    }
    for (int64_t hd = 0; hd < H; ++hd) {
      const int64_t base = (t * H + hd) * D;
      std::memcpy(y + base, x + base, static_cast<size_t>(D) * sizeof(uint16_t));  // nope: exact round trip
      for (int64_t j = 0; j < R; ++j) xs[static_cast<size_t>(j)] = bf16_to_float(x[base + j]);
      rope_slice_reference(s, xs.data(), out.data(), terms.data());
      for (int64_t j = 0; j < R; ++j) y[base + j] = ref::bf16_at("rope.y_bf16", out[static_cast<size_t>(j)]);
    }
  }
}

// bf16(a [m, k] · w [k, n]) as ref::hadamard / ref::gemm_bf16 compute it; keeps ŷ and A.
void gemm_bf16_rows(const uint16_t* a, const uint16_t* w, int64_t m, int64_t k, int64_t n, DType out_dtype, void* y,
                    std::vector<double>* pre, std::vector<double>* abs_dot) {
  GemmBf16RefArgs g;
  g.m = m;
  g.k = k;
  g.n = n;
  g.a = a;
  g.lda = k;
  g.w = w;
  g.ldw = n;
  pre->assign(static_cast<size_t>(m * n), 0.0);
  abs_dot->assign(static_cast<size_t>(m * n), 0.0);
  if (m > 0) gemm_bf16_reference(g, 0, m, pre->data(), n, abs_dot->data(), n);
  const size_t es = dtype_size(out_dtype);
  for (int64_t e = 0; e < m * n; ++e)
    gemm_bf16_store_rounded((*pre)[static_cast<size_t>(e)], out_dtype, static_cast<char*>(y) + static_cast<size_t>(e) * es);
}

// Q8 of BF16 rows (rint, no floor, FP16 scale), as ref::q8 does it.
void q8_bf16_rows(const uint16_t* x, int64_t rows, int64_t n, int8_t* codes, uint16_t* scale, float* pre,
                  float* s_pre) {
  Q8Params q;  // no floor, rint (spec §1.1 table, K1 rows)
  std::vector<float> row(static_cast<size_t>(n));
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t j = 0; j < n; ++j) row[static_cast<size_t>(j)] = bf16_to_float(x[r * n + j]);
    const float s = q8_row_reference(row.data(), n, q, codes + r * n, pre ? pre + r * n : nullptr);
    scale[r] = ref::fp16_at_f("q8.scale_fp16", s);
    if (s_pre) s_pre[r] = s;
  }
}

Tensor from_doubles(const std::vector<double>& v, Shape s) {
  Tensor o(DType::fp64, std::move(s));
  if (!v.empty()) std::memcpy(o.raw(), v.data(), v.size() * sizeof(double));
  return o;
}

}  // namespace

Status indexer_prolog(const Invocation& inv) {
  const int64_t t = inv.dim("t"), h = inv.dim("h"), q_lora = inv.dim("q_lora"), H = inv.dim("H"), D = inv.dim("D"),
                R = inv.dim("R");
  const int64_t HD = H * D;
  Extras* ex = inv.extras;
  const Tensor& x = inv.in("x");
  const Tensor& cos_t = inv.in("cos");
  const Tensor& sin_t = inv.in("sin");
  const Tensor& index = inv.in("k_cache_index");

  // ---- Query path --------------------------------------------------------------------------
  const ref::CastScope cast_q_b("indexer_prolog.q_b");  // names this stage's cast points (conformance/mutants)
  // Steps 1-2: qb = bf16((f32(q_norm·w_qb) ⊗ q_norm_scale) ⊗ w_qb_scale).
  Tensor qb(DType::bf16, {t, HD});
  Tensor qb_pre(DType::fp32, {t, HD});
  Tensor q_abs(DType::fp64, {t, HD});
  {
    GemmI8Args g;
    g.m = t;
    g.k = q_lora;
    g.n = HD;
    g.a = inv.in("q_norm").data<int8_t>();
    g.lda = q_lora;
    g.w = inv.in("w_qb").data<int8_t>();
    g.ldw = HD;
    g.s_row = inv.in("q_norm_scale").data<float>();
    g.s_col = inv.in("w_qb_scale").data<float>();
    g.y = qb.raw();
    g.ldy = HD;
    g.y_dtype = DType::bf16;
    gemm_i8_reference(g, 0, t, 0, HD, qb_pre.data<float>(), q_abs.data<double>());
  }
  const ref::CastScope cast_q_rope("indexer_prolog.q_rope");  // names this stage's cast points (conformance/mutants)
  // Step 3: rope' on qb[h, 0:R] of every head, nope passes through.
  Tensor q_cat(DType::bf16, {t, H, D});
  rope_heads(qb.data<uint16_t>(), cos_t, sin_t, t, H, D, R, q_cat.data<uint16_t>());
  const ref::CastScope cast_q_hadamard("indexer_prolog.q_hadamard");  // names this stage's cast points (conformance/mutants)
  // Step 4: qh = bf16(q_cat · hadamard_q) per head row.
  Tensor qh(DType::bf16, {t * H, D});
  std::vector<double> qh_pre, qh_abs;
  gemm_bf16_rows(q_cat.data<uint16_t>(), inv.in("hadamard_q").data<uint16_t>(), t * H, D, D, DType::bf16, qh.raw(),
                 &qh_pre, &qh_abs);
  const ref::CastScope cast_q_quant("indexer_prolog.q_quant");  // names this stage's cast points (conformance/mutants)
  // Step 5: Q8 per (token, head) row, straight into the outputs.
  Tensor& q_int8 = inv.out("q_int8");
  Tensor& q_scale = inv.out("q_scale");
  Tensor q_y(DType::fp32, {t, H, D}), q_s(DType::fp32, {t, H, 1});
  q8_bf16_rows(qh.data<uint16_t>(), t * H, D, q_int8.data<int8_t>(), q_scale.data<uint16_t>(), q_y.data<float>(),
               q_s.data<float>());

  // ---- Key path ----------------------------------------------------------------------------
  const ref::CastScope cast_k_proj("indexer_prolog.k_proj");  // names this stage's cast points (conformance/mutants)
  // Step 6: kf = x·wk, kept in fp32.
  Tensor kf(DType::fp32, {1, t, D});
  std::vector<double> kf_pre, kf_abs;
  gemm_bf16_rows(x.data<uint16_t>(), inv.in("wk").data<uint16_t>(), t, h, D, DType::fp32, kf.raw(), &kf_pre, &kf_abs);
  const ref::CastScope cast_k_norm("indexer_prolog.k_norm");  // names this stage's cast points (conformance/mutants)
  // Step 7: kb = bf16(LayerNorm(kf)).
  Tensor kb(DType::bf16, {t, D});
  std::vector<double> kb_pre(static_cast<size_t>(t * D));
  {
    std::vector<float> gamma(static_cast<size_t>(D)), beta(static_cast<size_t>(D));
    for (int64_t j = 0; j < D; ++j) {
      gamma[static_cast<size_t>(j)] = bf16_to_float(inv.in("ln_gamma_k").data<uint16_t>()[j]);
      beta[static_cast<size_t>(j)] = bf16_to_float(inv.in("ln_beta_k").data<uint16_t>()[j]);
    }
    const double eps = inv.problem->attr_f64("eps");
    std::vector<double> bud(static_cast<size_t>(D));
    for (int64_t i = 0; i < t; ++i) {
      double* out = kb_pre.data() + i * D;
      layernorm_row_reference(kf.data<float>() + i * D, gamma.data(), beta.data(), D, eps, out, bud.data());
      for (int64_t j = 0; j < D; ++j) kb.data<uint16_t>()[i * D + j] = ref::bf16_at("layernorm.y_bf16", out[j]);
    }
  }
  const ref::CastScope cast_k_rope("indexer_prolog.k_rope");  // names this stage's cast points (conformance/mutants)
  // Step 8: k_cat = concat(bf16(R-HALF(kb[0:R])), kb[R:D]) (one "head").
  Tensor k_cat(DType::bf16, {t, 1, D});
  rope_heads(kb.data<uint16_t>(), cos_t, sin_t, t, 1, D, R, k_cat.data<uint16_t>());
  const ref::CastScope cast_k_hadamard("indexer_prolog.k_hadamard");  // names this stage's cast points (conformance/mutants)
  // Step 9: kh = bf16(k_cat · hadamard_k).
  Tensor kh(DType::bf16, {t, D});
  std::vector<double> kh_pre, kh_abs;
  gemm_bf16_rows(k_cat.data<uint16_t>(), inv.in("hadamard_k").data<uint16_t>(), t, D, D, DType::bf16, kh.raw(), &kh_pre,
                 &kh_abs);
  const ref::CastScope cast_k_quant("indexer_prolog.k_quant");  // names this stage's cast points (conformance/mutants)
  // Step 10: Q8 of kh.
  Tensor k_codes(DType::i8, {t, D}), k_scale(DType::fp16, {t, 1});
  Tensor k_y(DType::fp32, {t, D}), k_s(DType::fp32, {t, 1});
  q8_bf16_rows(kh.data<uint16_t>(), t, D, k_codes.data<int8_t>(), k_scale.data<uint16_t>(), k_y.data<float>(),
               k_s.data<float>());
  // Step 11: scatter into the paged caches (negative index skipped, last token wins). The
  // declaration's check_inputs has rejected out-of-range indices before anything ran.
  {
    ScatterGeom g;
    g.block_num = inv.dim("block_num");
    g.block_size = inv.dim("block_size");
    g.D = D;
    g.elem_size = 1;
    scatter_reference(g, inv.out("k_cache").raw(), k_codes.raw(), index.data<int64_t>(), t);
    g.D = 1;
    g.elem_size = 2;
    scatter_reference(g, inv.out("k_scale_cache").raw(), k_scale.raw(), index.data<int64_t>(), t);
  }

  // ---- Weights path ------------------------------------------------------------------------
  const ref::CastScope cast_w_proj("indexer_prolog.w_proj");  // names this stage's cast points (conformance/mutants)
  // Step 12: wb = bf16(x·w_proj) (the BF16 rounding comes before the scaling).
  Tensor wb(DType::bf16, {1, t, H});
  std::vector<double> wb_pre, wb_abs;
  gemm_bf16_rows(x.data<uint16_t>(), inv.in("w_proj").data<uint16_t>(), t, h, H, DType::bf16, wb.raw(), &wb_pre,
                 &wb_abs);
  // Step 13: weights = fp16(f32(wb) ⊗ c).
  const float c = indexer_prolog_weight_scale(H, D);
  Tensor& weights = inv.out("weights");
  for (int64_t e = 0; e < t * H; ++e) weights.data<uint16_t>()[e] = indexer_prolog_weight(wb.data<uint16_t>()[e], c);

  if (ex) {
    // Tier B inputs of the compare (spec §11 /prerounding, /budget). k_cache's: each written row's
    // unrounded Q8 inputs, placed as the scatter places the codes (untouched rows 0).
    {
      Tensor pk(DType::fp32, inv.out("k_cache").shape());
      ScatterGeom g;
      g.block_num = inv.dim("block_num");
      g.block_size = inv.dim("block_size");
      g.D = D;
      g.elem_size = 4;
      scatter_reference(g, pk.raw(), k_y.raw(), index.data<int64_t>(), t);
      ex->prerounding["k_cache"] = std::move(pk);
    }
    ex->prerounding["q_int8"] = std::move(q_y);
    ex->prerounding["q_scale"] = std::move(q_s);
    Tensor w_pre(DType::fp64, {t, H}), w_bud(DType::fp64, {t, H});
    for (int64_t e = 0; e < t * H; ++e) {
      const size_t k = static_cast<size_t>(e);
      const float p = bf16_to_float(wb.data<uint16_t>()[e]) * c;
      w_pre.data<double>()[e] = p;
      // decl/indexer_prolog.cc: one BF16 flip of wb (ulp at the unrounded ŵ), the fp32 GEMM error
      // 2h·2^-24·A, and the binary32 product's rounding on both sides, in units of 2^-24.
      const double aw = std::fabs(wb_pre[k]);
      const double ulp_wb = 0x1.0p24 * (aw == 0 ? 0x1.0p-133 : std::max(std::ldexp(1.0, std::ilogb(aw) - 7), 0x1.0p-133));
      w_bud.data<double>()[e] =
          static_cast<double>(c) * ulp_wb + 2.0 * static_cast<double>(h) * static_cast<double>(c) * wb_abs[k] +
          2.0 * std::fabs(static_cast<double>(p));
    }
    ex->prerounding["weights"] = std::move(w_pre);
    ex->budget["weights"] = std::move(w_bud);
    ex->prerounding["k_codes"] = std::move(k_y);
    ex->prerounding["k_scale"] = std::move(k_s);
    ex->prerounding["qb"] = std::move(qb_pre);
    ex->budget["q_acc"] = std::move(q_abs);
    ex->prerounding["qh"] = from_doubles(qh_pre, {t * H, D});
    ex->budget["qh"] = from_doubles(qh_abs, {t * H, D});
    ex->prerounding["kf"] = from_doubles(kf_pre, {1, t, D});
    ex->budget["kf"] = from_doubles(kf_abs, {1, t, D});
    ex->prerounding["kb"] = from_doubles(kb_pre, {t, D});
    ex->prerounding["kh"] = from_doubles(kh_pre, {t, D});
    ex->budget["kh"] = from_doubles(kh_abs, {t, D});
    ex->prerounding["wb"] = from_doubles(wb_pre, {1, t, H});
    ex->budget["wb"] = from_doubles(wb_abs, {1, t, H});

    // Stage tensors (spec §11 /intermediates), named after the spec's steps; reshaped views of
    // inputs where a primitive declares another shape.
    TensorMap& im = ex->intermediates;
    im["w_qb_kn"] = reshaped(inv.in("w_qb"), {q_lora, HD});
    im["w_qb_scale_n"] = reshaped(inv.in("w_qb_scale"), {HD, 1});
    im["qb_heads"] = reshaped(qb, {t, H, D});
    im["qb"] = std::move(qb);
    im["q_cat_rows"] = reshaped(q_cat, {t * H, D});
    im["q_cat"] = std::move(q_cat);
    im["qh"] = std::move(qh);
    im["q_codes"] = reshaped(q_int8, {t * H, D});
    im["q_scale_rows"] = reshaped(q_scale, {t * H, 1});
    im["x_b"] = reshaped(x, {1, t, h});
    im["wk_b"] = reshaped(inv.in("wk"), {1, h, D});
    im["w_proj_b"] = reshaped(inv.in("w_proj"), {1, h, H});
    im["kf_rows"] = reshaped(kf, {t, D});
    im["kf"] = std::move(kf);
    im["kb_heads"] = reshaped(kb, {t, 1, D});
    im["kb"] = std::move(kb);
    im["k_cat_rows"] = reshaped(k_cat, {t, D});
    im["k_cat"] = std::move(k_cat);
    im["kh"] = std::move(kh);
    im["k_codes"] = std::move(k_codes);
    im["k_scale"] = std::move(k_scale);
    im["wb"] = std::move(wb);
  }
  return Status::Ok();
}

}  // namespace kcs::ref
