// Reference K3 (spec §5.3), composed step by step from the primitive references (Q8, gemm_i8,
// R-PAIR RoPE, dense Hadamard = gemm_bf16, gemm_bf16) in the spec's normative order. Binary64
// between the declared casts; the Q8 core, the INT8 dequant and ⊗ WS in binary32 (spec §10.1).
// With extras it records every stage's input and output in the primitive's own shape (so that
// conformance/stages/v4_indexer.cc can bind them), the score's pre-rounding sums and the bounds of
// the errors it may share through shared inputs (its budget), and, for the topk_set contract, the
// reference key and tolerance of every index value.
#include "kcs/kernels/v4_indexer.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <string>
#include <vector>

#include "kcs/backend.h"
#include "kcs/formats.h"
#include "kcs/kernels/gemm_bf16.h"
#include "kcs/kernels/gemm_i8.h"
#include "kcs/kernels/q8.h"
#include "kcs/kernels/rope.h"
#include "reference/cast_points.h"
#include "reference/kernels.h"

namespace kcs {

int64_t v4_topk_reference(const float* score, int64_t n, int64_t topk, int64_t offset, int32_t* out,
                          int64_t out_len) {
  const int64_t k = std::min(topk, n);
  std::vector<int32_t> idx(static_cast<size_t>(n));
  std::iota(idx.begin(), idx.end(), 0);
  // Descending score, ties by the lower index (spec §5.3 step 12 [R]); a total order, so the
  // result does not depend on the sort algorithm.
  std::partial_sort(idx.begin(), idx.begin() + k, idx.end(), [&](int32_t a, int32_t b) {
    return score[a] != score[b] ? score[a] > score[b] : a < b;
  });
  for (int64_t i = 0; i < out_len; ++i)
    out[i] = i < k ? static_cast<int32_t>(idx[static_cast<size_t>(i)] + offset) : -1;
  return k;
}

namespace ref {

namespace {

std::vector<float> bf16_row(const uint16_t* p, int64_t n) {
  std::vector<float> v(static_cast<size_t>(n));
  for (int64_t j = 0; j < n; ++j) v[static_cast<size_t>(j)] = bf16_to_float(p[j]);
  return v;
}

// Exact in binary32: a binary32 evaluation of it (any order, with or without FMA) gives x itself.
bool f32_exact(double x) { return static_cast<double>(static_cast<float>(x)) == x; }

// Whether every binary32 evaluation of Σ_k a[k]·b[k] gives the reference's f32 of the exact sum:
// at most two nonzero products, each exact in binary32 (then one rounding at most, any order).
template <class A, class B>
bool dot_reproducible(const A& a, const B& b, int64_t n) {
  int nz = 0;
  for (int64_t k = 0; k < n; ++k) {
    const double p = static_cast<double>(a(k)) * static_cast<double>(b(k));
    if (p == 0) continue;
    if (++nz > 2 || !f32_exact(p)) return false;
  }
  return true;
}

}  // namespace

Status v4_indexer(const Invocation& inv) {
  const Problem& p = *inv.problem;
  const int64_t B = p.dim("B"), S = p.dim("S"), T = B * S, D = p.dim("D"), QL = p.dim("Q_LORA"), H = p.dim("H"),
                Dh = p.dim("Dh"), R = p.dim("R"), L = p.dim("SCORE_LEN"), TOPK = p.dim("TOPK");
  const int64_t HD = H * Dh, start_pos = p.attr_i64("start_pos"), offset = p.attr_i64("offset");
  const int64_t cl = v4_indexer_cache_len(start_pos, S);
  const Q8Params q8p = v4_indexer_q8_params(p);
  const uint16_t* x = inv.in("x").data<uint16_t>();
  const uint16_t* qr = inv.in("qr").data<uint16_t>();
  const uint16_t* cache = inv.in("idx_kv_cache").data<uint16_t>();
  float* score = inv.out("score").data<float>();
  int32_t* topk = inv.out("topk_idxs").data<int32_t>();
  Extras* ex = inv.extras;
  auto keep = [&](const std::string& name, DType dt, Shape shape, const void* src) {
    if (!ex) return;
    Tensor t(dt, std::move(shape));
    if (t.nbytes() > 0) std::memcpy(t.raw(), src, t.nbytes());
    ex->intermediates[name] = std::move(t);
  };

  const ref::CastScope cast_qr_quant("v4_indexer.qr_quant");  // names this stage's cast points (conformance/mutants)
  // 1. qr quant, per token (floor 1e-4, FP32 scale).
  std::vector<int8_t> qr_i8(static_cast<size_t>(T * QL));
  std::vector<float> s_qr(static_cast<size_t>(T));
  for (int64_t t = 0; t < T; ++t) {
    const std::vector<float> v = bf16_row(qr + t * QL, QL);
    s_qr[static_cast<size_t>(t)] = q8_row_reference(v.data(), QL, q8p, qr_i8.data() + t * QL);
  }
  const ref::CastScope cast_q_b("v4_indexer.q_b");  // names this stage's cast points (conformance/mutants)
  // 2. q = bf16((f32(qr_i8 · wq_b) ⊗ s_qr) ⊗ wq_b_scale).
  std::vector<int32_t> q_acc(static_cast<size_t>(T * HD));
  std::vector<uint16_t> q(static_cast<size_t>(T * HD));
  {
    GemmI8Args g;
    g.m = T, g.k = QL, g.n = HD;
    g.a = qr_i8.data(), g.lda = QL;
    g.w = inv.in("wq_b").data<int8_t>(), g.ldw = HD;
    g.s_row = s_qr.data(), g.s_col = inv.in("wq_b_scale").data<float>();
    g.acc = q_acc.data(), g.ldacc = HD;
    g.y = q.data(), g.ldy = HD, g.y_dtype = DType::bf16;
    gemm_i8_reference(g, 0, T, 0, HD);
  }
  const ref::CastScope cast_q_rope("v4_indexer.q_rope");  // names this stage's cast points (conformance/mutants)
  // 3. R-PAIR RoPE on the last R columns of every head, shared half-table row; bf16 per element.
  std::vector<uint16_t> q_rot(q);
  // Per token: whether every correct binary32 backend reproduces its q path bit for bit (see the
  // score's budget below).
  std::vector<uint8_t> q_sharp(static_cast<size_t>(T), 1);
  // Per (token, head): whether a correct binary32 RoPE may round one of its outputs to another
  // BF16 than the reference's (double rounding near a BF16 boundary; see the score's budget).
  std::vector<uint8_t> rope_risk(static_cast<size_t>(T * H), 0);
  {
    RopeSliceRef rs;
    rs.mode = RopeMode::pair;
    rs.R = R;
    rs.cos = inv.in("cos").data<float>();
    rs.sin = inv.in("sin").data<float>();
    rs.half_table = true;
    std::vector<float> xs(static_cast<size_t>(R));
    std::vector<double> ys(static_cast<size_t>(R)), at(static_cast<size_t>(R));
    for (int64_t th = 0; th < T * H; ++th) {
      const int64_t base = th * Dh + (Dh - R);
      for (int64_t j = 0; j < R; ++j) xs[static_cast<size_t>(j)] = bf16_to_float(q[static_cast<size_t>(base + j)]);
      rope_slice_reference(rs, xs.data(), ys.data(), at.data());
      if (ex)  // binary32, FMA or not, is within 2u·(|x·c| + |x'·s|)·(1 + u/2) of ys (u = 2^-24)
        for (int64_t j = 0; j < R; ++j) {
          const double y = ys[static_cast<size_t>(j)], e = 0x1.0p-23 * (1 + 0x1.0p-20) * at[static_cast<size_t>(j)];
          if (bf16_from_double(y - e) != bf16_from_double(y + e)) rope_risk[static_cast<size_t>(th)] = 1;
        }
      for (int64_t j = 0; j < R; ++j) q_rot[static_cast<size_t>(base + j)] = ref::bf16_at("rope.y_bf16", ys[static_cast<size_t>(j)]);
      if (ex)  // a binary32 RoPE reproduces ys when its four products and both results are exact
        for (int64_t pr = 0; pr < R / 2; ++pr) {
          const double x0 = xs[static_cast<size_t>(2 * pr)], x1 = xs[static_cast<size_t>(2 * pr + 1)];
          const double c = rs.cos[pr], sn = rs.sin[pr];
          if (!(f32_exact(x0 * c) && f32_exact(x1 * sn) && f32_exact(x0 * sn) && f32_exact(x1 * c) &&
                f32_exact(ys[static_cast<size_t>(2 * pr)]) && f32_exact(ys[static_cast<size_t>(2 * pr + 1)])))
            q_sharp[static_cast<size_t>(th / H)] = 0;
        }
    }
  }
  const ref::CastScope cast_q_hadamard("v4_indexer.q_hadamard");  // names this stage's cast points (conformance/mutants)
  // 4. qh = bf16(q_rot · hadamard), per (token, head) row.
  std::vector<uint16_t> qh(static_cast<size_t>(T * HD));
  {
    std::vector<double> yv(static_cast<size_t>(T * HD));
    GemmBf16RefArgs g;
    g.m = T * H, g.k = Dh, g.n = Dh;
    g.a = q_rot.data(), g.lda = Dh;
    g.w = inv.in("hadamard").data<uint16_t>(), g.ldw = Dh;
    gemm_bf16_reference(g, 0, T * H, yv.data(), Dh);
    for (size_t e = 0; e < yv.size(); ++e) qh[e] = ref::bf16_at("hadamard.y_bf16", yv[e]);
    if (ex)
      for (int64_t th = 0; th < T * H; ++th)
        for (int64_t j = 0; j < Dh; ++j) {
          const uint16_t* a = q_rot.data() + th * Dh;
          const uint16_t* hm = inv.in("hadamard").data<uint16_t>();
          if (!dot_reproducible([&](int64_t k) { return bf16_to_float(a[k]); },
                                [&](int64_t k) { return bf16_to_float(hm[k * Dh + j]); }, Dh) ||
              !f32_exact(yv[static_cast<size_t>(th * Dh + j)]))
            q_sharp[static_cast<size_t>(th / H)] = 0;
        }
  }
  const ref::CastScope cast_q_quant("v4_indexer.q_quant");  // names this stage's cast points (conformance/mutants)
  // 5. per-head Q8 of qh.
  std::vector<int8_t> qh_i8(static_cast<size_t>(T * HD));
  std::vector<float> s_qh(static_cast<size_t>(T * H));
  for (int64_t th = 0; th < T * H; ++th) {
    const std::vector<float> v = bf16_row(qh.data() + th * Dh, Dh);
    s_qh[static_cast<size_t>(th)] = q8_row_reference(v.data(), Dh, q8p, qh_i8.data() + th * Dh);
  }
  const ref::CastScope cast_w_proj("v4_indexer.w_proj");  // names this stage's cast points (conformance/mutants)
  // 6. w = f32(x · weights_proj) ⊗ WS: the GEMM result is stored as FP32, no BF16 step (D11).
  std::vector<float> wx(static_cast<size_t>(T * H)), w(static_cast<size_t>(T * H));
  {
    std::vector<double> yv(static_cast<size_t>(T * H));
    GemmBf16RefArgs g;
    g.m = T, g.k = D, g.n = H;
    g.a = x, g.lda = D;
    g.w = inv.in("weights_proj").data<uint16_t>(), g.ldw = H;
    gemm_bf16_reference(g, 0, T, yv.data(), H);
    const float ws = v4_indexer_weights_scale(Dh, H);
    for (size_t e = 0; e < yv.size(); ++e) {
      gemm_bf16_store_rounded(yv[e], DType::fp32, &wx[e]);
      w[e] = wx[e] * ws;
    }
  }
  std::vector<uint8_t> w_sharp(static_cast<size_t>(T * H), 0);
  if (ex)
    for (int64_t t = 0; t < T; ++t)
      for (int64_t h = 0; h < H; ++h) {
        const uint16_t* wp = inv.in("weights_proj").data<uint16_t>();
        w_sharp[static_cast<size_t>(t * H + h)] = dot_reproducible([&](int64_t d) { return bf16_to_float(x[t * D + d]); },
                                                                   [&](int64_t d) { return bf16_to_float(wp[d * H + h]); }, D);
      }
  if (ex) {
    keep("qr_rows", DType::bf16, {T, QL}, qr);
    keep("wq_b_rows", DType::i8, {QL, HD}, inv.in("wq_b").data<int8_t>());
    keep("wq_b_scale_col", DType::fp32, {HD, 1}, inv.in("wq_b_scale").data<float>());
    keep("qr_i8", DType::i8, {T, QL}, qr_i8.data());
    keep("s_qr", DType::fp32, {T, 1}, s_qr.data());
    keep("q_acc", DType::i32, {T, HD}, q_acc.data());
    keep("q", DType::bf16, {T, HD}, q.data());
    keep("q_heads", DType::bf16, {T, H, Dh}, q.data());
    std::vector<float> cs(static_cast<size_t>(T * R / 2)), sn(cs.size());
    for (int64_t t = 0; t < T; ++t)
      for (int64_t j = 0; j < R / 2; ++j) {
        cs[static_cast<size_t>(t * R / 2 + j)] = inv.in("cos").data<float>()[j];
        sn[static_cast<size_t>(t * R / 2 + j)] = inv.in("sin").data<float>()[j];
      }
    keep("cos_rows", DType::fp32, {T, R / 2}, cs.data());
    keep("sin_rows", DType::fp32, {T, R / 2}, sn.data());
    keep("q_rot", DType::bf16, {T, H, Dh}, q_rot.data());
    keep("q_rot_rows", DType::bf16, {T * H, Dh}, q_rot.data());
    keep("qh", DType::bf16, {T * H, Dh}, qh.data());
    keep("qh_i8", DType::i8, {T * H, Dh}, qh_i8.data());
    keep("s_qh", DType::fp32, {T * H, 1}, s_qh.data());
    keep("x_rows", DType::bf16, {1, T, D}, x);
    keep("weights_proj_b", DType::bf16, {1, D, H}, inv.in("weights_proj").data<uint16_t>());
    keep("wx", DType::fp32, {1, T, H}, wx.data());
    keep("weights", DType::fp32, {T, H}, w.data());
  }

  // 8. NEG_FILL and -1 initialisation.
  std::fill(score, score + T * L, kV4NegFill);
  std::fill(topk, topk + T * L, -1);
  std::vector<double> pre, bud;
  if (ex) {
    pre.assign(static_cast<size_t>(T * L), static_cast<double>(kV4NegFill));
    bud.assign(static_cast<size_t>(T * L), 0.0);
  }
  std::vector<int8_t> kv_i8(static_cast<size_t>(cl * Dh)), qh_t(static_cast<size_t>(Dh * H));
  std::vector<float> s_kv(static_cast<size_t>(cl)), lg(static_cast<size_t>(cl * H));
  std::vector<int32_t> lacc(static_cast<size_t>(cl * H));
  for (int64_t t = 0; t < T; ++t) {
    const int64_t b = t / S;
    const uint16_t* rows = cache + b * L * Dh;
    const ref::CastScope cast_kv_quant("v4_indexer.kv_quant");  // names this stage's cast points (conformance/mutants)
    // 9. per-row Q8 of the cache rows j < cache_len only.
    for (int64_t j = 0; j < cl; ++j) {
      const std::vector<float> v = bf16_row(rows + j * Dh, Dh);
      s_kv[static_cast<size_t>(j)] = q8_row_reference(v.data(), Dh, q8p, kv_i8.data() + j * Dh);
    }
    const ref::CastScope cast_logits("v4_indexer.logits");
    // 10. lg[j, h] = (f32(kv_i8[j] · qh_i8[h]) ⊗ s_kv[j]) ⊗ s_qh[h]: gemm_i8 with qh_i8ᵀ as W.
    for (int64_t d = 0; d < Dh; ++d)
      for (int64_t h = 0; h < H; ++h) qh_t[static_cast<size_t>(d * H + h)] = qh_i8[static_cast<size_t>((t * H + h) * Dh + d)];
    if (cl > 0) {
      GemmI8Args g;
      g.m = cl, g.k = Dh, g.n = H;
      g.a = kv_i8.data(), g.lda = Dh;
      g.w = qh_t.data(), g.ldw = H;
      g.s_row = s_kv.data(), g.s_col = s_qh.data() + t * H;
      g.acc = lacc.data(), g.ldacc = H;
      g.y = lg.data(), g.ldy = H, g.y_dtype = DType::fp32;
      gemm_i8_reference(g, 0, cl, 0, H);
    }
    const ref::CastScope cast_score("v4_indexer.score");
    // 11. ReLU as the kernel writes it, max(lg, lg ⊗ 0), then Σ_h r ⊗ w in binary64, rounded once.
    const float* wt = w.data() + t * H;
    for (int64_t j = 0; j < cl; ++j) {
      double sum = 0;
      for (int64_t h = 0; h < H; ++h) {
        const float l = lg[static_cast<size_t>(j * H + h)];
        const float r = std::max(l, l * 0.0f);
        const double prod = static_cast<double>(r) * static_cast<double>(wt[h]);
        sum += prod;
      }
      score[t * L + j] = ref::f32_at("v4_indexer.score_f32", sum);
      if (ex) {
        // The score's budget B (docs/kernels/v4_indexer.md "Contracts"): for every head whose q
        // path a correct binary32 backend may round otherwise (rope_risk), one BF16 unit (2^-8)
        // of that head's abs-dot |w_h|·s_kv·s_qh·Σ_d |kv_i8·qh_i8|: a few of its codes ±1, or
        // its scale by 2^-8. B = 0 where every shared input (q path, weights of the heads with a
        // positive logit) is reproduced bit for bit: there the error is the score's own rounding,
        // which the binary32 rounding-bias check counts; elsewhere B is at least 2^-24 of the mean
        // head abs-dot (far below the atol) so that B = 0 keeps that meaning.
        bool sharp = q_sharp[static_cast<size_t>(t)] != 0;
        double a2 = 0, risky = 0;
        for (int64_t h = 0; h < H; ++h) {
          const size_t jh = static_cast<size_t>(j * H + h), th = static_cast<size_t>(t * H + h);
          if (lg[jh] > 0 && !w_sharp[th]) sharp = false;
          int64_t ad = 0;
          for (int64_t d = 0; d < Dh; ++d)
            ad += std::abs(static_cast<int64_t>(kv_i8[static_cast<size_t>(j * Dh + d)])) *
                  std::abs(static_cast<int64_t>(qh_t[static_cast<size_t>(d * H + h)]));
          const double ah = std::fabs(static_cast<double>(wt[h])) * s_kv[static_cast<size_t>(j)] * s_qh[th] * static_cast<double>(ad);
          a2 += ah;
          if (rope_risk[th]) risky += ah;
        }
        pre[static_cast<size_t>(t * L + j)] = sum;
        bud[static_cast<size_t>(t * L + j)] =
            sharp ? 0.0 : std::max(kV4QFlipUnit * risky, 0x1.0p-24 * a2 / static_cast<double>(H));
      }
    }
    // 12. top-k over j < cache_len.
    v4_topk_reference(score + t * L, cl, TOPK, offset, topk + t * L, L);
    if (ex && cl > 0) {
      const std::string s = ".t" + std::to_string(t);
      std::vector<uint16_t> kv_rows(rows, rows + cl * Dh);
      keep("kv_rows" + s, DType::bf16, {cl, Dh}, kv_rows.data());
      keep("kv_i8" + s, DType::i8, {cl, Dh}, kv_i8.data());
      keep("s_kv" + s, DType::fp32, {cl, 1}, s_kv.data());
      keep("qh_i8_T" + s, DType::i8, {Dh, H}, qh_t.data());
      keep("s_qh" + s, DType::fp32, {H, 1}, s_qh.data() + t * H);
      keep("logits_acc" + s, DType::i32, {cl, H}, lacc.data());
      keep("logits" + s, DType::fp32, {cl, H}, lg.data());
    }
  }
  if (ex) {
    Tensor tp(DType::fp64, {B, S, L}), tb(DType::fp64, {B, S, L});
    if (tp.nbytes() > 0) std::memcpy(tp.raw(), pre.data(), tp.nbytes());
    if (tb.nbytes() > 0) std::memcpy(tb.raw(), bud.data(), tb.nbytes());
    ex->prerounding["score"] = std::move(tp);
    ex->budget["score"] = std::move(tb);
    // topk_set keys over index values v = offset + j: the reference score of position j where
    // j < cache_len, NaN elsewhere; tau = the score's hard tolerance (spec §10.5) with its budget.
    double ss = 0;
    for (int64_t t = 0; t < T; ++t)
      for (int64_t j = 0; j < cl; ++j) ss += static_cast<double>(score[t * L + j]) * score[t * L + j];
    const double rms = T * cl > 0 ? std::sqrt(ss / static_cast<double>(T * cl)) : 0.0;
    const int64_t N = offset + L;
    Tensor key(DType::fp64, {T, N}), tau(DType::fp64, {T, N});
    for (int64_t t = 0; t < T; ++t)
      for (int64_t v = 0; v < N; ++v) {
        const int64_t j = v - offset;
        const bool valid = j >= 0 && j < cl;
        const double r = valid ? static_cast<double>(score[t * L + j]) : 0.0;
        key.data<double>()[t * N + v] = valid ? r : std::nan("");
        tau.data<double>()[t * N + v] = valid ? v4_score_hard_tol(r, rms) + bud[static_cast<size_t>(t * L + j)] : 0.0;
      }
    ex->prerounding["topk_idxs"] = std::move(key);
    ex->budget["topk_idxs"] = std::move(tau);
  }
  return Status::Ok();
}

}  // namespace ref
}  // namespace kcs
