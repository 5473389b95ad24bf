// Reference K5 compressor (spec §7.4 / §7.6), composed step by step of the primitive references:
// softmax_pool_column_reference (pooling), rmsnorm_row_reference (v4 form), rope_slice_reference
// (R-PAIR) and gemm_bf16_reference (the dense Hadamard). Binary64 throughout, with the declared
// casts: the logit z = f32(score + ape) (one binary32 add, see the header), BF16 at xb, n, the
// rope output and the Hadamard output (model) or at the output only (fused). The fp32 pooled
// value of the kernel stays a double here (spec §10.1); the intermediate "pooled" is its fp32
// store as the softmax_pool primitive produces it (the stage check binds to it).
// Stage tensors (inv.extras->intermediates) per head, the indexer's prefixed "idx_":
//   logits, values [n_blocks, window, C]  the softmax_pool window (fresh padding included)
//   pooled [n_blocks, C] fp32; max, den [n_blocks, C] fp64 (spec §11 K5)
//   model: xb, norm [n_blocks, C] BF16; norm_3d, rope [n_blocks, 1, C] BF16 (the rope stage's
//   [T, H, D] view); rope_cos, rope_sin [n_blocks, ROPE/2] (table rows at the block positions);
//   indexer: idx_rot_in [n_blocks, C_I] BF16 (= idx_rope, the Hadamard's input view).
#include "kcs/kernels/compressor.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "kcs/backend.h"
#include "kcs/formats.h"
#include "kcs/kernels/gemm_bf16.h"
#include "kcs/kernels/rmsnorm.h"
#include "kcs/kernels/rope.h"
#include "kcs/kernels/softmax_pool.h"
#include "reference/cast_points.h"
#include "reference/kernels.h"

namespace kcs {

namespace {

double widen(const Tensor& t, int64_t k) {
  return t.dtype() == DType::bf16 ? bf16_to_float(t.data<uint16_t>()[k]) : t.data<float>()[k];
}

// Fresh tensor registered in a map (extras) or a scratch one.
Tensor& slot(TensorMap* m, const std::string& name, DType dt, const Shape& s, Tensor& scratch) {
  if (m) return (*m)[name] = Tensor(dt, s);
  scratch = Tensor(dt, s);
  return scratch;
}

// Spacing of BF16 / binary32 numbers at |x|, taken one binade up (a value near a power of two may
// round across it): 2^(e-7) / 2^(e-23) for |x| in [2^(e-1), 2^e). Subnormal floor for tiny x.
double bf16_step(double x) {
  if (!std::isfinite(x)) return 0;
  int e = 0;
  std::frexp(x, &e);
  return std::ldexp(1.0, std::max(e - 7, -133));
}
double f32_step(double x) {
  if (!std::isfinite(x)) return 0;
  int e = 0;
  std::frexp(x, &e);
  return std::ldexp(1.0, std::max(e - 23, -149));
}
// Whether [x - b, x + b] holds a BF16 rounding boundary: values there can round to two different
// BF16 numbers.
bool near_boundary(double x, double b) { return bf16_from_double(x - b) != bf16_from_double(x + b); }

// One head (main: Ch = C, or indexer: Ch = C_I) of the whole call.
struct Head {
  const Tensor* proj;
  const Tensor* prev;
  const Tensor* ape;
  const Tensor* norm_w;
  const Tensor* hadamard;  // indexer in the model epilogue, else null
  Tensor* out;
  int64_t Ch, nope;  // rope columns [nope, Ch)
  bool rope;         // fused: only the main head is rotated
  std::string pre;   // intermediate name prefix
  std::string out_name;
};

void run_head(const CompressorParams& cp, const Head& h, const Tensor& table, const Invocation& inv) {
  const int64_t nb = cp.n_blocks, M = cp.M, Ch = h.Ch, W = cp.window(), R = cp.ROPE;
  const int64_t row = cp.G() * 2 * Ch;  // proj row length
  const bool vbf16 = h.proj->dtype() == DType::bf16;
  TensorMap* im = inv.extras ? &inv.extras->intermediates : nullptr;
  Tensor s0, s1, s2, s3, s4, s5, s6, s7, s8, s9;
  Tensor& logits = slot(im, h.pre + "logits", DType::fp32, {nb, W, Ch}, s0);
  Tensor& values = slot(im, h.pre + "values", h.proj->dtype(), {nb, W, Ch}, s1);
  Tensor& pooled = slot(im, h.pre + "pooled", DType::fp32, {nb, Ch}, s2);
  Tensor& mx = slot(im, h.pre + "max", DType::fp64, {nb, Ch}, s3);
  Tensor& den = slot(im, h.pre + "den", DType::fp64, {nb, Ch}, s4);
  double* pre = nullptr;
  double* bud = nullptr;
  if (inv.extras) {
    pre = (inv.extras->prerounding[h.out_name] = Tensor(DType::fp64, {nb, Ch})).data<double>();
    bud = (inv.extras->budget[h.out_name] = Tensor(DType::fp64, {nb, Ch})).data<double>();
  }
  const float ninf = -std::numeric_limits<float>::infinity();
  auto set_value = [&](int64_t k, const Tensor& src, int64_t sk) {
    if (vbf16)
      values.data<uint16_t>()[k] = src.data<uint16_t>()[sk];
    else
      values.data<float>()[k] = src.data<float>()[sk];
  };
  // 1. The windows: z = f32(score + ape), one binary32 add (exact in binary64, then rounded once).
  for (int64_t i = 0; i < nb; ++i)
    for (int64_t q = 0; q < W; ++q) {
      const bool cur = q < M;
      const int64_t p = cur ? q : q - M;
      const Tensor* src = h.proj;
      int64_t base = 0;  // element offset of the [C | Z] pair in src
      bool pad = false;
      if (cur) {
        base = (cp.start_token + i * M + p) * row;
      } else if (i > 0) {
        base = (cp.start_token + (i - 1) * M + p) * row + 2 * Ch;
      } else if (cp.external_prev) {
        src = h.prev;
        base = p * 2 * Ch;
      } else {
        pad = true;
      }
      const int64_t ape_base = ((cur ? 0 : 1) * M + p) * Ch;
      for (int64_t c = 0; c < Ch; ++c) {
        const int64_t k = (i * W + q) * Ch + c;
        if (pad) {
          logits.data<float>()[k] = ninf;
          if (vbf16)
            values.data<uint16_t>()[k] = 0;
          else
            values.data<float>()[k] = 0.0f;
          continue;
        }
        logits.data<float>()[k] = ref::f32_at("compressor.logit_f32", widen(*src, base + Ch + c) + h.ape->data<float>()[ape_base + c]);
        set_value(k, *src, base + c);
      }
    }
  // 2. Pooling (softmax_pool reference), pooled kept in binary64.
  std::vector<double> z(static_cast<size_t>(W * Ch)), v(z.size());
  std::vector<double> pd(static_cast<size_t>(nb * Ch)), A(pd.size());
  for (int64_t i = 0; i < nb; ++i) {
    for (int64_t k = 0; k < W * Ch; ++k) {
      z[static_cast<size_t>(k)] = logits.data<float>()[i * W * Ch + k];
      v[static_cast<size_t>(k)] = widen(values, i * W * Ch + k);
    }
    for (int64_t c = 0; c < Ch; ++c) {
      const PoolColumn r = softmax_pool_column_reference(z.data() + c, Ch, v.data() + c, Ch, W);
      const int64_t o = i * Ch + c;
      pd[static_cast<size_t>(o)] = r.pooled;
      A[static_cast<size_t>(o)] = r.abs_wv;
      pooled.data<float>()[o] = ref::f32_at("compressor.pooled_f32", r.pooled);
      mx.data<double>()[o] = r.mx;
      den.data<double>()[o] = r.den;
    }
  }
  uint16_t* out = h.out->data<uint16_t>();
  auto table_at = [&](int64_t pos, int64_t j) {  // cos (j < R/2) or sin (j >= R/2) of the row
    return static_cast<float>(widen(table, pos * R + j));
  };
  // 3a. Fused epilogue (spec §7.4): BF16 of the pooled value; the main head's rope pairs rotated
  // in binary64 at the block-end position from the binary64 pooled values.
  if (!cp.model) {
    for (int64_t i = 0; i < nb; ++i) {
      const int64_t pos = cp.rope_pos(i);
      for (int64_t c = 0; c < Ch; ++c) {
        const int64_t o = i * Ch + c;
        double y = pd[static_cast<size_t>(o)], a = A[static_cast<size_t>(o)];
        if (h.rope && c >= h.nope) {
          const int64_t pr = (c - h.nope) / 2;
          const double cs = table_at(pos, pr), sn = table_at(pos, pr + R / 2);
          const int64_t o0 = i * Ch + h.nope + 2 * pr;
          const double x0 = pd[static_cast<size_t>(o0)], x1 = pd[static_cast<size_t>(o0 + 1)];
          const double a0 = A[static_cast<size_t>(o0)], a1 = A[static_cast<size_t>(o0 + 1)];
          const bool even = (c - h.nope) % 2 == 0;
          y = even ? x0 * cs - x1 * sn : x0 * sn + x1 * cs;
          const double t0 = std::fabs(x0 * (even ? cs : sn)), t1 = std::fabs(x1 * (even ? sn : cs));
          a = std::fabs(even ? cs : sn) * a0 + std::fabs(even ? sn : cs) * a1 + (2 * t0 + 2 * t1 + std::fabs(y)) / 16;
        }
        out[o] = ref::bf16_at("compressor.fused_out_bf16", y);
        if (pre) {
          pre[o] = y;
          bud[o] = a;
        }
      }
    }
    return;
  }
  // 3b. Model epilogue (spec §7.6).
  Tensor& xb = slot(im, h.pre + "xb", DType::bf16, {nb, Ch}, s5);
  Tensor& nrm = slot(im, h.pre + "norm", DType::bf16, {nb, Ch}, s6);
  Tensor& nrm3 = slot(im, h.pre + "norm_3d", DType::bf16, {nb, 1, Ch}, s7);
  Tensor& rope = slot(im, h.pre + "rope", DType::bf16, {nb, 1, Ch}, s8);
  for (int64_t o = 0; o < nb * Ch; ++o) xb.data<uint16_t>()[o] = ref::bf16_at("compressor.pooled_bf16", pd[static_cast<size_t>(o)]);
  std::vector<float> w(static_cast<size_t>(Ch)), xr(static_cast<size_t>(Ch));
  for (int64_t c = 0; c < Ch; ++c) w[static_cast<size_t>(c)] = h.norm_w->data<float>()[c];
  std::vector<double> ny(static_cast<size_t>(Ch)), F(static_cast<size_t>(Ch)), Bn(static_cast<size_t>(Ch)),
      G(static_cast<size_t>(Ch));
  std::vector<float> cs(static_cast<size_t>(R / 2)), sn(cs.size()), xs(static_cast<size_t>(R));
  std::vector<double> ry(static_cast<size_t>(R)), rt(static_cast<size_t>(R));
  RopeSliceRef rs;
  rs.mode = RopeMode::pair;
  rs.R = R;
  rs.half_table = true;
  rs.cos = cs.data();
  rs.sin = sn.data();
  // Per element of the BF16 value that leaves the head (n for pass-through columns, the rope
  // output for the rope columns): its binary64 value, the absolute error bound B of an
  // implementation's value before that BF16 cast, and H, the BF16 flip it may carry into the
  // Hadamard (0 unless a rounding boundary lies within B). Derivation: decl/compressor.cc.
  std::vector<double> rpre(static_cast<size_t>(nb * Ch)), rB(rpre.size()), rH(rpre.size());
  const double u = 0x1.0p-24;
  const double norm_e = 2.0 * (static_cast<double>(Ch) + 11.0) / 2.0 * u;  // 2 x the RMSNorm bound
  for (int64_t i = 0; i < nb; ++i) {
    for (int64_t c = 0; c < Ch; ++c) xr[static_cast<size_t>(c)] = bf16_to_float(xb.data<uint16_t>()[i * Ch + c]);
    const double r = rmsnorm_row_reference(xr.data(), w.data(), Ch, cp.eps, ny.data());
    // xb flips: an implementation's fp32 pooled value is within the softmax_pool contract of pd
    // (2 fp32 ulps or 2^-20·A); its BF16 cast can differ from the reference's only where that
    // interval holds a BF16 rounding boundary, and then by one BF16 step.
    double S = 0;
    for (int64_t c = 0; c < Ch; ++c) {
      const int64_t o = i * Ch + c;
      const double p = pd[static_cast<size_t>(o)];
      const double Ep = 0x1.0p-20 * A[static_cast<size_t>(o)] + 2 * f32_step(p);
      F[static_cast<size_t>(c)] = near_boundary(p, Ep) ? bf16_step(p) : 0;
      S += std::fabs(static_cast<double>(xr[static_cast<size_t>(c)])) * F[static_cast<size_t>(c)];
    }
    // RMSNorm: y_j = w_j x_j r with r = (Σx²/C + eps)^-½; to first order a change δx_k moves r by
    // r³ Σ|x_k δx_k| / C, so |δy_j| <= |w_j| r F_j + |y_j| r² S / C, plus the binary32 evaluation's
    // (C + 11)/2 units of |y_j| (include/kcs/kernels/rmsnorm.h), doubled for higher-order terms.
    const double dr = r * r * S / static_cast<double>(Ch);
    for (int64_t c = 0; c < Ch; ++c) {
      const int64_t o = i * Ch + c;
      const size_t cc = static_cast<size_t>(c);
      const uint16_t nb16 = ref::bf16_at("compressor.norm_bf16", ny[cc]);
      nrm.data<uint16_t>()[o] = nb16;
      nrm3.data<uint16_t>()[o] = nb16;
      rope.data<uint16_t>()[o] = nb16;  // pass-through columns; rope columns overwritten below
      Bn[cc] = std::fabs(static_cast<double>(w[cc])) * r * F[cc] + std::fabs(ny[cc]) * (dr + norm_e);
      G[cc] = near_boundary(ny[cc], Bn[cc]) ? bf16_step(ny[cc]) : 0;
      rpre[static_cast<size_t>(o)] = ny[cc];
      rB[static_cast<size_t>(o)] = Bn[cc];
      rH[static_cast<size_t>(o)] = G[cc];
    }
    const int64_t pos = cp.rope_pos(i);
    for (int64_t j = 0; j < R / 2; ++j) {
      cs[static_cast<size_t>(j)] = table_at(pos, j);
      sn[static_cast<size_t>(j)] = table_at(pos, j + R / 2);
    }
    for (int64_t j = 0; j < R; ++j) xs[static_cast<size_t>(j)] = bf16_to_float(nrm.data<uint16_t>()[i * Ch + h.nope + j]);
    rope_slice_reference(rs, xs.data(), ry.data(), rt.data());
    // R-PAIR on BF16 inputs that may each carry their flip G: |δy| <= |c|G_0 + |s|G_1 (paired as
    // in the formula), plus the binary32 products and add (rope.h budget), doubled.
    for (int64_t j = 0; j < R; ++j) {
      const int64_t o = i * Ch + h.nope + j;
      const size_t jj = static_cast<size_t>(j);
      rope.data<uint16_t>()[o] = ref::bf16_at("compressor.rope_bf16", ry[jj]);
      const int64_t pr = j / 2;
      const bool even = j % 2 == 0;
      const double c0 = cs[static_cast<size_t>(pr)], s0v = sn[static_cast<size_t>(pr)];
      const double g0 = G[static_cast<size_t>(h.nope + 2 * pr)], g1 = G[static_cast<size_t>(h.nope + 2 * pr + 1)];
      const double By = std::fabs(even ? c0 : s0v) * g0 + std::fabs(even ? s0v : c0) * g1 +
                        2 * u * (rt[jj] + std::fabs(ry[jj]));
      rpre[static_cast<size_t>(o)] = ry[jj];
      rB[static_cast<size_t>(o)] = By;
      rH[static_cast<size_t>(o)] = near_boundary(ry[jj], By) ? bf16_step(ry[jj]) : 0;
    }
  }
  if (im) {
    const bool tf32 = table.dtype() == DType::fp32;
    const std::string cn = "rope_cos", sname = "rope_sin";
    if (!im->count(cn)) {  // both heads use the same rows
      Tensor& tc = (*im)[cn] = Tensor(table.dtype(), {nb, R / 2});
      Tensor& ts = (*im)[sname] = Tensor(table.dtype(), {nb, R / 2});
      for (int64_t i = 0; i < nb; ++i)
        for (int64_t j = 0; j < R / 2; ++j) {
          const int64_t src = cp.rope_pos(i) * R + j, dst = i * (R / 2) + j;
          if (tf32) {
            tc.data<float>()[dst] = table.data<float>()[src];
            ts.data<float>()[dst] = table.data<float>()[src + R / 2];
          } else {
            tc.data<uint16_t>()[dst] = table.data<uint16_t>()[src];
            ts.data<uint16_t>()[dst] = table.data<uint16_t>()[src + R / 2];
          }
        }
    }
  }
  // The contract's budget term is 16·2^-24·A = 2^-20·A: A = B·2^20.
  if (!h.hadamard) {
    std::memcpy(out, rope.raw(), static_cast<size_t>(nb * Ch) * sizeof(uint16_t));
    if (pre)
      for (int64_t o = 0; o < nb * Ch; ++o) {
        pre[o] = rpre[static_cast<size_t>(o)];
        bud[o] = rB[static_cast<size_t>(o)] * 0x1.0p20;
      }
    return;
  }
  // Indexer rotate path: y = bf16(rope · H), the reference BF16 GEMM. Its inputs may carry their
  // flips H_k: |δy_j| <= Σ_k |M_kj| H_k + 2·(2K·2^-24·Σ_k |x_k M_kj|) (spec §10.4 GEMM rule, doubled).
  Tensor& rot_in = slot(im, h.pre + "rot_in", DType::bf16, {nb, Ch}, s9);
  std::memcpy(rot_in.raw(), rope.raw(), static_cast<size_t>(nb * Ch) * sizeof(uint16_t));
  GemmBf16RefArgs g;
  g.m = nb;
  g.k = Ch;
  g.n = Ch;
  g.a = rot_in.data<uint16_t>();
  g.lda = Ch;
  g.w = h.hadamard->data<uint16_t>();
  g.ldw = Ch;
  std::vector<double> hy(static_cast<size_t>(nb * Ch)), habs(hy.size());
  if (nb > 0) gemm_bf16_reference(g, 0, nb, hy.data(), Ch, habs.data(), Ch);
  for (int64_t i = 0; i < nb; ++i)
    for (int64_t j = 0; j < Ch; ++j) {
      const int64_t o = i * Ch + j;
      out[o] = ref::bf16_at("compressor.hadamard_bf16", hy[static_cast<size_t>(o)]);
      if (!pre) continue;
      double b = 4.0 * static_cast<double>(Ch) * u * habs[static_cast<size_t>(o)];
      for (int64_t k = 0; k < Ch; ++k)
        if (const double hk = rH[static_cast<size_t>(i * Ch + k)]; hk != 0)
          b += std::fabs(static_cast<double>(bf16_to_float(h.hadamard->data<uint16_t>()[k * Ch + j]))) * hk;
      pre[o] = hy[static_cast<size_t>(o)];
      bud[o] = b * 0x1.0p20;
    }
}

}  // namespace

namespace ref {

Status compressor(const Invocation& inv) {
  const CompressorParams cp = compressor_params(*inv.problem);
  const Tensor& table = inv.in("cos_sin_cache");
  Head mh{&inv.in("proj"), &inv.in("prev_b"), &inv.in("ape"), &inv.in("norm_w"), nullptr, &inv.out("kv_out"),
          cp.C, cp.NOPE, true, "", "kv_out"};
  run_head(cp, mh, table, inv);
  if (cp.csa) {
    Head ih{&inv.in("proj_indexer"), &inv.in("prev_b_indexer"), &inv.in("ape_indexer"), &inv.in("norm_w_indexer"),
            cp.model ? &inv.in("hadamard") : nullptr, &inv.out("indexer_out"), cp.C_I, cp.C_I - cp.ROPE, cp.model,
            "idx_", "indexer_out"};
    run_head(cp, ih, table, inv);
  } else if (inv.extras) {
    // HCA: the indexer output is empty ([n_blocks, 0]); its budget tensors must still exist.
    inv.extras->prerounding["indexer_out"] = Tensor(DType::fp64, {cp.n_blocks, 0});
    inv.extras->budget["indexer_out"] = Tensor(DType::fp64, {cp.n_blocks, 0});
  }
  return Status::Ok();
}

}  // namespace ref
}  // namespace kcs
