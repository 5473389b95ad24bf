// K2 MLA Prolog adapter: weight packing, the per-token-tile driver over the primitives' engines,
// and the Invocation entry point. What is computed and why no knob changes a bit: see
// optimized/mla_prolog.h.
#include "optimized/mla_prolog.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "kcs/backend.h"
#include "optimized/kernels.h"
#include "optimized/q8.h"
#include "optimized/rmsnorm.h"
#include "optimized/rope.h"
#include "optimized/scatter.h"
#include "optimized/variants.h"

namespace kcs::opt {

namespace {

// R-V2 with the half-duplicated BF16 table of K2 ([t, R] per token) on `heads` slices of R values;
// the caller sets the slices' pointers and strides.
RopeArgs rope_v2_slices(const uint16_t* cos, const uint16_t* sin, int64_t heads, int64_t R) {
  RopeArgs a;
  a.H = heads;
  a.D = R;
  a.R = R;
  a.mode = RopeMode::v2;
  a.cos = cos;
  a.sin = sin;
  return a;
}

size_t sz(int64_t n) { return static_cast<size_t>(n); }

// Columns per GEMM work item: the knob, or (0) whole 64-column groups spread so that every
// thread gets about two items.
int64_t col_chunk(int64_t n_tile, int64_t N, int threads) {
  if (n_tile > 0) return n_tile;
  if (threads <= 1) return N;
  const int64_t want = (N + 2 * threads - 1) / (2 * threads);
  return std::max<int64_t>(64, (want + 63) / 64 * 64);
}

struct GemmItem {
  int which;  // index of the GEMM in the stage
  int64_t m0, m1, n0, n1;
};

void add_items(std::vector<GemmItem>& items, int which, int64_t m, int64_t m_tile, int64_t N, int64_t nc) {
  const int64_t mt = m_tile > 0 ? m_tile : std::max<int64_t>(m, 1);
  for (int64_t n0 = 0; n0 < N; n0 += nc)
    for (int64_t m0 = 0; m0 < m; m0 += mt)
      items.push_back({which, m0, std::min(m, m0 + mt), n0, std::min(N, n0 + nc)});
}

// Per-thread scratch of the driver, kept between calls (fresh pages cost more than the work at
// decode sizes).
struct Scratch {
  std::vector<uint16_t> qa, cq, qb, kv, kr, ckv;
  std::vector<int8_t> kvc;
  std::vector<float> ks;
};

uint8_t* i8_buffer(size_t bytes, std::shared_ptr<uint8_t>* owner) {
  const size_t alloc = std::max<size_t>((bytes + 63) / 64 * 64, 64);
  uint8_t* p = static_cast<uint8_t*>(std::aligned_alloc(64, alloc));
  if (!p) throw Error("mla_prolog: out of memory packing w_uq_qr (" + std::to_string(alloc) + " bytes)");
  owner->reset(p, &std::free);
  return p;
}

}  // namespace

void mla_prolog_pack(Isa isa, const MlaPrologDims& d, const MlaPrologWeightsIn& in, bool pack_i8, int threads,
                     MlaPrologWeights* out) {
  out->d = d;
  out->isa = isa;
  const Isa i8 = variant(kMlaPrologVariants, isa).gemm_i8;
  pack_bf16_weights_into(out->w_dq, in.w_dq, 1, d.h, d.q_lora, d.q_lora, 0, threads);
  pack_bf16_weights_into(out->w_dkv_kr, in.w_dkv_kr, 1, d.h, d.nkv(), d.nkv(), 0, threads);
  pack_bf16_weights_into(out->w_uk, in.w_uk, d.n1, d.nope, d.kv_lora, d.kv_lora, d.nope * d.kv_lora, threads);
  out->w_uq_i8 = PackedI8View{};
  out->w_uq_direct = nullptr;
  if (d.quant) {
    const int8_t* w = static_cast<const int8_t*>(in.w_uq_qr);
    out->w_uq_direct = w;
    if (pack_i8) {
      const size_t bytes = packed_i8_bytes(i8, d.q_lora, d.nq());
      // Reuse the previous pack's memory when it is large enough (per-call packing).
      uint8_t* buf = out->i8_owner && out->i8_bytes >= bytes ? out->i8_owner.get() : nullptr;
      if (!buf) {
        buf = i8_buffer(bytes, &out->i8_owner);
        out->i8_bytes = bytes;
      }
      out->w_uq_i8 = pack_i8_weights_into(i8, w, d.nq(), d.q_lora, d.nq(), threads, buf);
    }
  } else {
    pack_bf16_weights_into(out->w_uq_bf16, static_cast<const uint16_t*>(in.w_uq_qr), 1, d.q_lora, d.nq(), d.nq(), 0,
                           threads);
  }
  out->dequant_scale = in.dequant_scale;
  out->gamma_cq = in.gamma_cq;
  out->gamma_ckv = in.gamma_ckv;
}

void mla_prolog_run(const MlaPrologWeights& w, const MlaPrologIo& io, const MlaPrologTiles& tl, int threads) {
  mla_prolog_run(w, w.d, io, tl, threads);
}

void mla_prolog_run(const MlaPrologWeights& w, const MlaPrologDims& d, const MlaPrologIo& io,
                    const MlaPrologTiles& tl, int threads) {
  const MlaPrologVariant& v = variant(kMlaPrologVariants, w.isa);
  const Isa isa = v.gemm_bf16;
  const int64_t T = d.t, h = d.h, ql = d.q_lora, n1 = d.n1, nope = d.nope, R = d.rope, kvl = d.kv_lora;
  const int64_t qhd = d.qhd(), nq = d.nq(), nkv = d.nkv(), grp = d.group();
  if (T == 0) return;
  threads = std::max(threads, 1);
  const int64_t tile = tl.tile_bs > 0 ? std::min(tl.tile_bs, T) : T;
  const int64_t mv = tl.mv_tile > 0 ? tl.mv_tile : tile;

  auto q8_fn = variant(kQ8Variants, v.vec).rows;
  auto rms_fn = variant(kRmsNormVariants, v.vec).rows;
  auto rope_fn = variant(kRopeVariants, v.vec).tokens;
  auto scat_fn = variant(kScatterVariants, v.vec).tokens;
  auto i8_fn = variant(kGemmI8Variants, v.gemm_i8).gemm;

  // The caller's scratch, named through a plain reference: inside the OpenMP regions below a
  // thread_local name would resolve to each worker thread's own (empty) instance.
  thread_local Scratch tls_scratch;
  Scratch& s = tls_scratch;
  s.qa.resize(sz(tile * ql));
  s.cq.resize(d.quant ? sz(tile * ql) : 0);
  s.qb.resize(sz(tile * nq));
  s.kv.resize(sz(tile * nkv));
  s.kr.resize(sz(tile * R));
  s.ckv.resize(sz(tile * kvl));
  s.kvc.resize(d.quant ? sz(tile * kvl) : 0);
  s.ks.resize(d.quant ? sz(tile * kMlaKvGroups) : 0);

  // The binary32 constants of the RMSNorm engine, each rounded once from binary64.
  RmsNormRows nq_rows, nkv_rows;
  nq_rows.gamma = w.gamma_cq;
  nq_rows.n = ql;
  nq_rows.eps = static_cast<float>(io.eps_cq);
  nq_rows.inv_n = static_cast<float>(1.0 / static_cast<double>(ql));
  nq_rows.fn = static_cast<float>(ql);
  nkv_rows.gamma = w.gamma_ckv;
  nkv_rows.n = kvl;
  nkv_rows.eps = static_cast<float>(io.eps_ckv);
  nkv_rows.inv_n = static_cast<float>(1.0 / static_cast<double>(kvl));
  nkv_rows.fn = static_cast<float>(kvl);

  MlaPrologDims dl = d;
  dl.layout = io.layout;
  const ScatterGeom gkv = mla_prolog_cache_geom(dl, MlaCache::kv), gkr = mla_prolog_cache_geom(dl, MlaCache::kr),
                    gks = mla_prolog_cache_geom(dl, MlaCache::k_scale);

  std::vector<GemmItem> items;
  for (int64_t t0 = 0; t0 < T; t0 += tile) {
    const int64_t t1 = std::min(T, t0 + tile), n = t1 - t0;
    const uint16_t* x = io.token_x + t0 * h;
    // Non-quant: cq is q_norm_out itself (BF16), no copy.
    uint16_t* cq = d.quant ? s.cq.data() : static_cast<uint16_t*>(io.q_norm_out) + t0 * ql;

    // Steps 1 and 7: qa = bf16(x·w_dq), kv = bf16(x·w_dkv_kr), one parallel region.
    GemmBf16Args gq, gk;
    gq.m = gk.m = n;
    gq.k = gk.k = h;
    gq.a = gk.a = x;
    gq.lda = gk.lda = h;
    gq.n = ql;
    gq.y = s.qa.data();
    gq.ldy = ql;
    gk.n = nkv;
    gk.y = s.kv.data();
    gk.ldy = nkv;
    gq.y_dtype = gk.y_dtype = DType::bf16;
    gq.k_block = gk.k_block = tl.pre_quant_k;
    items.clear();
    const int64_t nc = col_chunk(tl.n_tile, std::max(ql, nkv), threads);
    add_items(items, 0, n, tl.m_tile, ql, nc);
    add_items(items, 1, n, tl.m_tile, nkv, nc);
#pragma omp parallel for num_threads(threads) schedule(dynamic, 1) if (threads > 1)
    for (size_t it = 0; it < items.size(); ++it) {
      const GemmItem& g = items[it];
      if (g.which == 0)
        gemm_bf16_tile(isa, gq, w.w_dq.view(), 0, g.m0, g.m1, g.n0, g.n1);
      else
        gemm_bf16_tile(isa, gk, w.w_dkv_kr.view(), 0, g.m0, g.m1, g.n0, g.n1);
    }

    // Steps 2, 3, 8, 9, 10 on row chunks of mv_tile: RMSNorm of qa and kv[:kv_lora], Q8 of cq and
    // of the 4 KV groups, R-V2 of kv[kv_lora:] into kr.
    const int64_t chunks = (n + mv - 1) / mv;
#pragma omp parallel for num_threads(threads) schedule(static) if (threads > 1 && chunks > 1)
    for (int64_t c = 0; c < chunks; ++c) {
      const int64_t r0 = c * mv, r1 = std::min(n, r0 + mv);
      RmsNormRows a = nq_rows;
      a.x = s.qa.data();
      a.y = cq;
      rms_fn(a, r0, r1);
      for (int64_t r = r0; r < r1; ++r) {  // kv rows are nkv apart: one row per engine call
        RmsNormRows b = nkv_rows;
        b.x = s.kv.data() + r * nkv;
        b.y = s.ckv.data() + r * kvl;
        rms_fn(b, 0, 1);
      }
      RopeArgs ra = rope_v2_slices(io.cos + t0 * R, io.sin + t0 * R, 1, R);
      ra.x = s.kv.data() + kvl;
      ra.x_tok = nkv;
      ra.y = s.kr.data();
      rope_fn(ra, r0, r1);
      if (d.quant) {
        Q8Rows q;
        q.x = cq;
        q.n = ql;
        q.codes = static_cast<int8_t*>(io.q_norm_out) + t0 * ql;
        q.scale = io.q_norm_scale_out + t0;
        q8_fn(q, r0, r1);
        Q8Rows g;
        g.x = s.ckv.data();
        g.n = grp;
        g.codes = s.kvc.data();
        g.scale = s.ks.data();
        q8_fn(g, r0 * kMlaKvGroups, r1 * kMlaKvGroups);
      }
    }

    // Step 4: qb [n, nq] (INT8 engine + dequant, or BF16 engine).
    items.clear();
    GemmI8Args gi;
    GemmBf16Args gb;
    const bool i8_packed = w.w_uq_i8.data != nullptr;
    if (d.quant) {
      gi.m = n;
      gi.k = ql;
      gi.n = nq;
      gi.a = static_cast<const int8_t*>(io.q_norm_out) + t0 * ql;
      gi.lda = ql;
      gi.w = w.w_uq_direct;
      gi.ldw = nq;
      gi.s_row = io.q_norm_scale_out + t0;
      gi.s_col = w.dequant_scale;
      gi.y = s.qb.data();
      gi.ldy = nq;
      gi.y_dtype = DType::bf16;
      // Direct path: columns in runs of at most 4096 (optimized/gemm_i8.h); packed: whole panels.
      const int64_t ic = tl.n_tile > 0 ? tl.n_tile : std::min<int64_t>(col_chunk(0, nq, threads), 4096);
      add_items(items, 0, n, tl.m_tile, nq, ic);
    } else {
      gb.m = n;
      gb.k = ql;
      gb.n = nq;
      gb.a = cq;
      gb.lda = ql;
      gb.y = s.qb.data();
      gb.ldy = nq;
      gb.y_dtype = DType::bf16;
      gb.k_block = tl.qb_k;
      add_items(items, 0, n, tl.m_tile, nq, col_chunk(tl.n_tile, nq, threads));
    }
#pragma omp parallel for num_threads(threads) schedule(dynamic, 1) if (threads > 1)
    for (size_t it = 0; it < items.size(); ++it) {
      const GemmItem& g = items[it];
      if (d.quant)
        i8_fn(gi, i8_packed ? &w.w_uq_i8 : nullptr, GemmI8Blocking{}, g.m0, g.m1, g.n0, g.n1);
      else
        gemm_bf16_tile(isa, gb, w.w_uq_bf16.view(), 0, g.m0, g.m1, g.n0, g.n1);
    }

    // Steps 5 and 6: per head, query_nope_out = bf16(qb_nope · w_uk[h]) read and written in place;
    // R-V2 of the q rope slices straight into query_rope_out (one item per token chunk).
    GemmBf16Args gu;
    gu.batch = n1;
    gu.m = n;
    gu.k = nope;
    gu.n = kvl;
    gu.a = s.qb.data();
    gu.lda = nq;
    gu.a_batch_stride = qhd;
    gu.y = io.query_nope_out + t0 * n1 * kvl;
    gu.ldy = n1 * kvl;
    gu.y_batch_stride = kvl;
    gu.y_dtype = DType::bf16;
    gu.k_block = tl.wuk_k;
    const int64_t mt = tl.m_tile > 0 ? tl.m_tile : n;
    const int64_t m_items = (n + mt - 1) / mt;
    const int64_t gemm_items = n1 * m_items;
    const int64_t total = gemm_items + chunks;
#pragma omp parallel for num_threads(threads) schedule(dynamic, 1) if (threads > 1)
    for (int64_t it = 0; it < total; ++it) {
      if (it < gemm_items) {
        const int64_t b = it / m_items, mi = it % m_items;
        gemm_bf16_tile(isa, gu, w.w_uk.view(), b, mi * mt, std::min(n, (mi + 1) * mt), 0, kvl);
      } else {
        const int64_t c = it - gemm_items;
        RopeArgs ra = rope_v2_slices(io.cos + t0 * R, io.sin + t0 * R, n1, R);
        ra.x = s.qb.data() + nope;
        ra.x_tok = nq;
        ra.x_head = qhd;
        ra.y = io.query_rope_out + t0 * n1 * R;
        rope_fn(ra, c * mv, std::min(n, (c + 1) * mv));
      }
    }

    // Step 11: scatters, this tile's tokens in order after the previous tile's (last wins).
    ScatterCall sc;
    sc.index = io.cache_index + t0;
    sc.T = n;
    sc.g = gkr;
    sc.cache = reinterpret_cast<uint8_t*>(io.kr_cache);
    sc.src = reinterpret_cast<const uint8_t*>(s.kr.data());
    scat_fn(sc, 0, n);
    sc.g = gkv;
    sc.cache = static_cast<uint8_t*>(io.kv_cache);
    sc.src = d.quant ? reinterpret_cast<const uint8_t*>(s.kvc.data()) : reinterpret_cast<const uint8_t*>(s.ckv.data());
    scat_fn(sc, 0, n);
    if (d.quant) {
      sc.g = gks;
      sc.cache = reinterpret_cast<uint8_t*>(io.k_scale_cache);
      sc.src = reinterpret_cast<const uint8_t*>(s.ks.data());
      scat_fn(sc, 0, n);
    }
  }
}

namespace {

MlaPrologIo io_of(const Invocation& inv, const MlaPrologDims& d) {
  MlaPrologIo io;
  io.token_x = inv.in("token_x").data<uint16_t>();
  io.cos = inv.in("cos").data<uint16_t>();
  io.sin = inv.in("sin").data<uint16_t>();
  io.cache_index = inv.in("cache_index").data<int64_t>();
  io.kv_cache = inv.out("kv_cache").raw();
  io.kr_cache = inv.out("kr_cache").data<uint16_t>();
  io.k_scale_cache = inv.out("k_scale_cache").data<float>();
  io.q_norm_out = inv.out("q_norm_out").raw();
  io.q_norm_scale_out = d.quant ? inv.out("q_norm_scale_out").data<float>() : nullptr;
  io.query_nope_out = inv.out("query_nope_out").data<uint16_t>();
  io.query_rope_out = inv.out("query_rope_out").data<uint16_t>();
  io.eps_cq = d.eps_cq;
  io.eps_ckv = d.eps_ckv;
  io.layout = d.layout;
  return io;
}

MlaPrologTiles tiles_of(const Invocation& inv) {
  MlaPrologTiles tl;
  tl.tile_bs = inv.knob("tile_bs");
  tl.m_tile = inv.knob("m_tile");
  tl.mv_tile = inv.knob("mv_tile");
  tl.n_tile = inv.knob("n_tile");
  tl.pre_quant_k = inv.knob("pre_quant_k");
  tl.wuk_k = inv.knob("wuk_k");
  tl.qb_k = inv.knob("qb_k");
  return tl;
}

MlaPrologWeightsIn weights_in(const Invocation& inv, const MlaPrologDims& d) {
  MlaPrologWeightsIn in;
  in.w_dq = inv.in("w_dq").data<uint16_t>();
  in.w_uq_qr = inv.in("w_uq_qr").raw();
  in.dequant_scale = d.quant ? inv.in("dequant_scale").data<float>() : nullptr;
  in.w_uk = inv.in("w_uk").data<uint16_t>();
  in.w_dkv_kr = inv.in("w_dkv_kr").data<uint16_t>();
  in.gamma_cq = inv.in("gamma_cq").data<uint16_t>();
  in.gamma_ckv = inv.in("gamma_ckv").data<uint16_t>();
  return in;
}

// Every weight packed once, w_uq_qr included at any token count (the packed INT8 path gives the
// bits of the direct one); the vectors the packed form points to are the plan's own copies.
class MlaPrologPlan : public Plan {
 public:
  MlaPrologPlan(Backend& b, const Invocation& inv, Isa isa) : Plan(b, *inv.decl, *inv.problem) {
    const MlaPrologDims d = mla_prolog_dims(*inv.problem);
    gamma_cq_ = inv.in("gamma_cq");
    gamma_ckv_ = inv.in("gamma_ckv");
    dequant_scale_ = inv.in("dequant_scale");
    MlaPrologWeightsIn in = weights_in(inv, d);
    in.gamma_cq = gamma_cq_.data<uint16_t>();
    in.gamma_ckv = gamma_ckv_.data<uint16_t>();
    in.dequant_scale = d.quant ? dequant_scale_.data<float>() : nullptr;
    mla_prolog_pack(isa, d, in, /*pack_i8=*/true, inv.threads, &w_);
    w_.w_uq_direct = nullptr;  // the caller's memory: never read after prepare
  }

 protected:
  Status execute(const Invocation& inv) override {
    const MlaPrologDims d = mla_prolog_dims(*inv.problem);
    if (d.t == 0) return Status::Ok();
    mla_prolog_run(w_, d, io_of(inv, d), tiles_of(inv), inv.threads);
    return Status::Ok();
  }

 private:
  Tensor gamma_cq_, gamma_ckv_, dequant_scale_;
  MlaPrologWeights w_;
};

}  // namespace

std::unique_ptr<Plan> mla_prolog_prepare(Backend& backend, const Invocation& weights, Isa isa) {
  return std::make_unique<MlaPrologPlan>(backend, weights, isa);
}

Status mla_prolog(const Invocation& inv, Isa isa) {
  const MlaPrologDims d = mla_prolog_dims(*inv.problem);
  if (d.t == 0) return Status::Ok();
  // Per-call packing into memory kept per thread; the INT8 weights are read row-major (direct
  // path) below kGemmI8PackMinM tokens, where packing would cost more than it saves.
  thread_local MlaPrologWeights w;
  mla_prolog_pack(isa, d, weights_in(inv, d), d.t >= kGemmI8PackMinM, inv.threads, &w);
  mla_prolog_run(w, io_of(inv, d), tiles_of(inv), inv.threads);
  return Status::Ok();
}

}  // namespace kcs::opt
