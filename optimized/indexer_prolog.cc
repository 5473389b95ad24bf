// K1 indexer_prolog adapter: the stages of spec §3.3 fused per token tile on the primitives'
// engines (int8 GEMM + dequant, RoPE, BF16 GEMM / Hadamard, LayerNorm, Q8, scatter) plus the two
// ISA pieces of optimized/indexer_prolog.h.
//
// Token tiles come from the unroll list (knob unroll = u: chunks u, then the powers of two below
// u, then 1, each walked as far as it fits: t = 7 with u = 32 gives 4, 2, 1; spec §1.8). Work
// items, over OpenMP threads (dynamic schedule; each item owns its outputs, so neither the thread
// count nor the order can change a bit):
//   q item  (token tile, head chunk of head_chunk heads): qb = the int8 GEMM's bf16 output for the
//           chunk's columns -> R-HALF -> Hadamard -> Q8 straight into q_int8 / q_scale. The
//           intermediates live in per-thread scratch of tile x chunk x D (L2-sized for decode and
//           for the default prefill chunk of 2 heads). Items are ordered chunk-major so that
//           consecutive items reuse the chunk's weight columns from cache.
//   kw item (token tile): kf = x·wk (fp32) -> LayerNorm -> R-HALF -> Hadamard -> Q8 into a [t, D]
//           code buffer; wb = bf16(x·w_proj) -> weights. For t <= kDirectMaxT the two BF16 GEMMs
//           read row-major W directly (ip_bf16_direct, same bits as the packed engine); above, W
//           is packed once per call and the engine runs per tile.
// The scatter of the key codes and scales runs after all items, in token order (last token wins,
// negative index skipped), as scatter_run does for the stand-alone kernel.
// Every per-element operation sequence is the engines' own, which do not depend on the tile or
// the thread, so token tiles and head chunks are bit-invariant; K blocks (q_k_block exact; the
// BF16 ones change the fp32 summation) are passed to the engines.
#include "optimized/indexer_prolog.h"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "kcs/kernels/indexer_prolog.h"
#include "optimized/gemm_bf16.h"
#include "optimized/gemm_i8.h"
#include "optimized/kernels.h"
#include "optimized/layernorm.h"
#include "optimized/q8.h"
#include "optimized/rope.h"
#include "optimized/scatter.h"
#include "optimized/scratch.h"
#include "optimized/variants.h"

namespace kcs::opt {

namespace {

// Above this many tokens the BF16 weights are packed once per call for the engine.
constexpr int64_t kDirectMaxT = 8;

struct Tile {
  int64_t m0, m1;
};

std::vector<Tile> token_tiles(int64_t T, int64_t u) {
  std::vector<Tile> out;
  if (u <= 0) {
    out.push_back({0, T});
    return out;
  }
  std::vector<int64_t> list{u};
  for (int64_t f = int64_t{1} << 62; f >= 1; f >>= 1)
    if (f < u) list.push_back(f);
  int64_t pos = 0;
  for (int64_t f : list)
    while (T - pos >= f) {
      out.push_back({pos, pos + f});
      pos += f;
    }
  return out;
}

struct Fns {
  void (*gemm_i8)(const GemmI8Args&, const PackedI8View*, const GemmI8Blocking&, int64_t, int64_t, int64_t, int64_t);
  void (*rope)(const RopeArgs&, int64_t, int64_t);
  void (*q8)(const Q8Rows&, int64_t, int64_t);
  void (*layernorm)(const LayerNormRows&, int64_t, int64_t);
  void (*direct)(const Bf16Direct&, int64_t, int64_t);
  void (*store_row)(const float*, int64_t, DType, void*);
  void (*weights)(const uint16_t*, int64_t, float, uint16_t*);
};

Fns fns_for(Isa isa) {
  const IndexerPrologVariant& own = variant(kIndexerPrologVariants, isa);
  return {variant(kGemmI8Variants, isa).gemm,        variant(kRopeVariants, isa).tokens,
          variant(kQ8Variants, isa).rows,            variant(kLayerNormVariants, isa).rows,
          own.bf16_direct,                           variant(kGemmBf16Variants, isa).store_row,
          own.weights};
}

struct Call {
  Isa isa;
  Fns f;
  int64_t T, h, q_lora, H, D, R;
  const uint16_t* x;
  const int8_t* q_norm;
  const float* q_norm_scale;
  const int8_t* w_qb;
  const float* w_qb_scale;
  const uint16_t *wk, *w_proj, *gamma, *beta, *cos, *sin;
  const PackedI8View* q_packed;  // null: direct path
  GemmI8Blocking q_block;
  const PackedBf16View *hq, *hk, *wk_packed, *wp_packed;  // wk/wp null: direct path
  int64_t k_kb, w_kb, hd_kb;
  float eps, inv_d, c;
  int8_t* q_int8;
  uint16_t* q_scale;
  uint16_t* weights;
  int8_t* k_codes;   // [T, D]
  uint16_t* k_scale; // [T]
};

thread_local ScratchBuffer s_a("indexer_prolog"), s_b("indexer_prolog"), s_c("indexer_prolog"), s_d("indexer_prolog");

void q_item(const Call& k, Tile tl, int64_t h0, int64_t h1) {
  const int64_t rows = tl.m1 - tl.m0, nh = h1 - h0, D = k.D, HD = k.H * D, ncols = nh * D, n0 = h0 * D;
  uint16_t* qb = s_a.get<uint16_t>(rows * ncols);
  uint16_t* qcat = s_b.get<uint16_t>(rows * ncols);
  uint16_t* qh = s_c.get<uint16_t>(rows * ncols);
  // Steps 1-2 for the chunk's columns. The engine writes y[row * ldy + col] with absolute columns;
  // the base is moved back by n0 so that the chunk lands at qb[0..ncols) (only [n0, n0 + ncols) is written).
  GemmI8Args g;
  g.m = rows;
  g.k = k.q_lora;
  g.n = HD;
  g.a = k.q_norm + tl.m0 * k.q_lora;
  g.lda = k.q_lora;
  g.w = k.w_qb;
  g.ldw = HD;
  g.s_row = k.q_norm_scale + tl.m0;
  g.s_col = k.w_qb_scale;
  g.y = reinterpret_cast<void*>(reinterpret_cast<uintptr_t>(qb) - static_cast<uintptr_t>(n0) * sizeof(uint16_t));
  g.ldy = ncols;
  g.y_dtype = DType::bf16;
  k.f.gemm_i8(g, k.q_packed, k.q_block, 0, rows, n0, n0 + ncols);
  // Step 3: R-HALF on every head of the chunk (the token's cos/sin row for all heads).
  RopeArgs ra;
  ra.x = qb;
  ra.y = qcat;
  ra.H = nh;
  ra.D = D;
  ra.R = k.R;
  ra.mode = RopeMode::half;
  ra.cos = k.cos + tl.m0 * k.R;
  ra.sin = k.sin + tl.m0 * k.R;
  k.f.rope(ra, 0, rows);
  // Step 4: qh = bf16(q_cat · hadamard_q), rows x heads at once.
  GemmBf16Args hg;
  hg.m = rows * nh;
  hg.k = D;
  hg.n = D;
  hg.a = qcat;
  hg.lda = D;
  hg.y = qh;
  hg.ldy = D;
  hg.y_dtype = DType::bf16;
  hg.k_block = k.hd_kb;
  gemm_bf16_tile(k.isa, hg, *k.hq, 0, 0, rows * nh, 0, D);
  // Step 5: Q8 per head row, into the outputs (the chunk's heads of one token are contiguous).
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t i = tl.m0 + r;
    Q8Rows qa;
    qa.x = qh + r * ncols;
    qa.x_dtype = DType::bf16;
    qa.n = D;
    qa.codes = k.q_int8 + (i * k.H + h0) * D;
    qa.scale = k.q_scale + i * k.H + h0;
    qa.scale_dtype = DType::fp16;
    k.f.q8(qa, 0, nh);
  }
}

// x rows of the tile times W [h, n] into fp32 y [rows, n]: direct or packed engine (same bits).
void bf16_gemm_rows(const Call& k, Tile tl, const uint16_t* w, const PackedBf16View* packed, int64_t n, int64_t kb,
                    float* y) {
  const int64_t rows = tl.m1 - tl.m0;
  if (!packed) {
    Bf16Direct d;
    d.a = k.x + tl.m0 * k.h;
    d.lda = k.h;
    d.m = rows;
    d.k = k.h;
    d.w = w;
    d.ldw = n;
    d.k_block = kb;
    d.y = y;
    d.ldy = n;
    k.f.direct(d, 0, n);
    return;
  }
  GemmBf16Args g;
  g.m = rows;
  g.k = k.h;
  g.n = n;
  g.a = k.x + tl.m0 * k.h;
  g.lda = k.h;
  g.y = y;
  g.ldy = n;
  g.y_dtype = DType::fp32;
  g.k_block = kb;
  gemm_bf16_tile(k.isa, g, *packed, 0, 0, rows, 0, n);
}

void kw_item(const Call& k, Tile tl) {
  const int64_t rows = tl.m1 - tl.m0, D = k.D, H = k.H;
  float* kf = s_a.get<float>(rows * std::max(D, H));
  uint16_t* kb = s_b.get<uint16_t>(rows * std::max(D, H));
  uint16_t* kcat = s_c.get<uint16_t>(rows * D);
  uint16_t* kh = s_d.get<uint16_t>(rows * D);
  // Step 6: kf = x·wk (fp32 kept). Step 7: LayerNorm -> bf16.
  bf16_gemm_rows(k, tl, k.wk, k.wk_packed, D, k.k_kb, kf);
  LayerNormRows la;
  la.x = kf;
  la.gamma = k.gamma;
  la.beta = k.beta;
  la.n = D;
  la.eps = k.eps;
  la.inv_n = k.inv_d;
  la.y = kb;
  k.f.layernorm(la, 0, rows);
  // Step 8: R-HALF (one head). Step 9: Hadamard. Step 10: Q8 into the [t, D] code buffer.
  RopeArgs ra;
  ra.x = kb;
  ra.y = kcat;
  ra.H = 1;
  ra.D = D;
  ra.R = k.R;
  ra.mode = RopeMode::half;
  ra.cos = k.cos + tl.m0 * k.R;
  ra.sin = k.sin + tl.m0 * k.R;
  k.f.rope(ra, 0, rows);
  GemmBf16Args hg;
  hg.m = rows;
  hg.k = D;
  hg.n = D;
  hg.a = kcat;
  hg.lda = D;
  hg.y = kh;
  hg.ldy = D;
  hg.y_dtype = DType::bf16;
  hg.k_block = k.hd_kb;
  gemm_bf16_tile(k.isa, hg, *k.hk, 0, 0, rows, 0, D);
  Q8Rows qa;
  qa.x = kh;
  qa.x_dtype = DType::bf16;
  qa.n = D;
  qa.codes = k.k_codes + tl.m0 * D;
  qa.scale = k.k_scale + tl.m0;
  qa.scale_dtype = DType::fp16;
  k.f.q8(qa, 0, rows);
  // Steps 12-13: wb = bf16(x·w_proj), weights = fp16(f32(wb) ⊗ c). kf's scratch is free again.
  float* wf = kf;
  uint16_t* wb = kb;
  bf16_gemm_rows(k, tl, k.w_proj, k.wp_packed, H, k.w_kb, wf);
  k.f.store_row(wf, rows * H, DType::bf16, wb);
  k.f.weights(wb, rows * H, k.c, k.weights + tl.m0 * H);
}

}  // namespace

void indexer_prolog_run(Isa isa, const IndexerPrologArgs& a, const IndexerPrologTiles& knobs, int threads_in) {
  Call k;
  k.isa = isa;
  k.f = fns_for(isa);
  k.T = a.t;
  k.h = a.h;
  k.q_lora = a.q_lora;
  k.H = a.H;
  k.D = a.D;
  k.R = a.R;
  if (k.T == 0) return;
  const int threads = std::max(1, threads_in);
  const int64_t T = k.T, H = k.H, D = k.D, HD = H * D;
  k.x = a.x;
  k.q_norm = a.q_norm;
  k.q_norm_scale = a.q_norm_scale;
  k.w_qb = a.w_qb;
  k.w_qb_scale = a.w_qb_scale;
  k.wk = a.wk;
  k.w_proj = a.w_proj;
  k.gamma = a.ln_gamma_k;
  k.beta = a.ln_beta_k;
  k.cos = a.cos;
  k.sin = a.sin;
  k.eps = a.eps;
  k.inv_d = static_cast<float>(1.0 / static_cast<double>(D));
  k.c = indexer_prolog_weight_scale(H, D);
  k.q_int8 = a.q_int8;
  k.q_scale = a.q_scale;
  k.weights = a.weights;

  // Knobs.
  const std::vector<Tile> tiles = token_tiles(T, knobs.unroll);
  int64_t hc = knobs.head_chunk;
  if (hc <= 0) hc = T < kGemmI8PackMinM ? std::max<int64_t>(1, 4096 / D) : 2;  // auto: wide runs for decode
  hc = std::min(hc, H);
  k.q_block.k_block = knobs.q_k_block;
  k.k_kb = knobs.k_k_block;
  k.w_kb = knobs.w_k_block;
  k.hd_kb = knobs.hd_k_block;

  // Weights: the int8 q_b weights are packed from kGemmI8PackMinM tokens on (as the stand-alone
  // gemm_i8 does), the BF16 ones above kDirectMaxT tokens; the Hadamard matrices always (32 KiB).
  thread_local ScratchBuffer q_pack("indexer_prolog");
  PackedI8View qpv;
  k.q_packed = nullptr;
  if (a.w_qb_packed) {
    k.q_packed = a.w_qb_packed;
  } else if (T >= kGemmI8PackMinM) {
    qpv = pack_i8_weights_into(isa, k.w_qb, HD, k.q_lora, HD, threads,
                               q_pack.get<uint8_t>(static_cast<int64_t>(packed_i8_bytes(isa, k.q_lora, HD))));
    k.q_packed = &qpv;
  }
  thread_local PackedBf16Weights phq, phk, pwk, pwp;
  // 32 KiB each: one thread (a parallel region would cost more than the copy).
  pack_bf16_weights_into(phq, a.hadamard_q, 1, D, D, D, 0, 1);
  pack_bf16_weights_into(phk, a.hadamard_k, 1, D, D, D, 0, 1);
  k.hq = &phq.view();
  k.hk = &phk.view();
  k.wk_packed = k.wp_packed = nullptr;
  if (a.wk_packed && a.w_proj_packed) {
    k.wk_packed = a.wk_packed;
    k.wp_packed = a.w_proj_packed;
  } else if (T > kDirectMaxT) {
    pack_bf16_weights_into(pwk, k.wk, 1, k.h, D, D, 0, threads);
    pack_bf16_weights_into(pwp, k.w_proj, 1, k.h, H, H, 0, threads);
    k.wk_packed = &pwk.view();
    k.wp_packed = &pwp.view();
  }
  std::vector<int8_t> k_codes(static_cast<size_t>(T * D));
  std::vector<uint16_t> k_scale(static_cast<size_t>(T));
  k.k_codes = k_codes.data();
  k.k_scale = k_scale.data();

  // Work items: the kw items first (one per tile), then the q items chunk-major.
  struct Item {
    int64_t tile, h0, h1;  // h0 < 0: kw item
  };
  std::vector<Item> items;
  for (int64_t ti = 0; ti < static_cast<int64_t>(tiles.size()); ++ti) items.push_back({ti, -1, -1});
  for (int64_t h0 = 0; h0 < H; h0 += hc)
    for (int64_t ti = 0; ti < static_cast<int64_t>(tiles.size()); ++ti) items.push_back({ti, h0, std::min(H, h0 + hc)});
  const int64_t n_items = static_cast<int64_t>(items.size());
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
  for (int64_t it = 0; it < n_items; ++it) {
    const Item& w = items[static_cast<size_t>(it)];
    if (w.h0 < 0)
      kw_item(k, tiles[static_cast<size_t>(w.tile)]);
    else
      q_item(k, tiles[static_cast<size_t>(w.tile)], w.h0, w.h1);
  }

  // Step 11: scatter in token order (check_inputs rejected out-of-range indices before the call).
  ScatterCall sc;
  sc.g.block_num = a.block_num;
  sc.g.block_size = a.block_size;
  sc.g.D = D;
  sc.g.elem_size = 1;
  sc.cache = reinterpret_cast<uint8_t*>(a.k_cache);
  sc.src = reinterpret_cast<const uint8_t*>(k_codes.data());
  sc.index = a.k_cache_index;
  sc.T = T;
  scatter_run(sc, isa, 1, 0);
  sc.g.D = 1;
  sc.g.elem_size = 2;
  sc.cache = reinterpret_cast<uint8_t*>(a.k_scale_cache);
  sc.src = reinterpret_cast<const uint8_t*>(k_scale.data());
  scatter_run(sc, isa, 1, 0);
}

namespace {

// Dimensions, attribute and the call's tensors (the weights are set by the caller).
IndexerPrologArgs call_args(const Invocation& inv) {
  IndexerPrologArgs a;
  a.t = inv.dim("t");
  a.h = inv.dim("h");
  a.q_lora = inv.dim("q_lora");
  a.H = inv.dim("H");
  a.D = inv.dim("D");
  a.R = inv.dim("R");
  a.block_num = inv.dim("block_num");
  a.block_size = inv.dim("block_size");
  a.eps = static_cast<float>(inv.problem->attr_f64("eps"));
  a.x = inv.in("x").data<uint16_t>();
  a.q_norm = inv.in("q_norm").data<int8_t>();
  a.q_norm_scale = inv.in("q_norm_scale").data<float>();
  a.cos = inv.in("cos").data<uint16_t>();
  a.sin = inv.in("sin").data<uint16_t>();
  a.k_cache = inv.out("k_cache").data<int8_t>();
  a.k_scale_cache = inv.out("k_scale_cache").data<uint16_t>();
  a.k_cache_index = inv.in("k_cache_index").data<int64_t>();
  a.q_int8 = inv.out("q_int8").data<int8_t>();
  a.q_scale = inv.out("q_scale").data<uint16_t>();
  a.weights = inv.out("weights").data<uint16_t>();
  return a;
}

IndexerPrologTiles tiles_of(const Invocation& inv) {
  IndexerPrologTiles t;
  t.unroll = inv.knob("unroll");
  t.head_chunk = inv.knob("head_chunk");
  t.q_k_block = inv.knob("q_k_block");
  t.k_k_block = inv.knob("k_k_block");
  t.w_k_block = inv.knob("w_k_block");
  t.hd_k_block = inv.knob("hd_k_block");
  return t;
}

// w_qb, wk and w_proj packed once (IndexerPrologArgs::*_packed: the bits of every per-call path);
// the small weights are the plan's own copies.
class IndexerPrologPlan : public Plan {
 public:
  IndexerPrologPlan(Backend& b, const Invocation& inv, Isa isa)
      : Plan(b, *inv.decl, *inv.problem),
        isa_(isa),
        w_qb_scale_(inv.in("w_qb_scale")),
        gamma_(inv.in("ln_gamma_k")),
        beta_(inv.in("ln_beta_k")),
        hq_(inv.in("hadamard_q")),
        hk_(inv.in("hadamard_k")) {
    const int64_t h = inv.dim("h"), ql = inv.dim("q_lora"), HD = inv.dim("H") * inv.dim("D");
    qb_ = pack_i8_weights(isa, inv.in("w_qb").data<int8_t>(), HD, ql, HD, inv.threads);
    wk_ = pack_bf16_weights(inv.in("wk").data<uint16_t>(), 1, h, inv.dim("D"), inv.dim("D"), 0, inv.threads);
    wp_ = pack_bf16_weights(inv.in("w_proj").data<uint16_t>(), 1, h, inv.dim("H"), inv.dim("H"), 0, inv.threads);
  }

 protected:
  Status execute(const Invocation& inv) override {
    IndexerPrologArgs a = call_args(inv);
    a.w_qb_scale = w_qb_scale_.data<float>();
    a.ln_gamma_k = gamma_.data<uint16_t>();
    a.ln_beta_k = beta_.data<uint16_t>();
    a.hadamard_q = hq_.data<uint16_t>();
    a.hadamard_k = hk_.data<uint16_t>();
    a.w_qb_packed = &qb_.view();
    a.wk_packed = &wk_.view();
    a.w_proj_packed = &wp_.view();
    indexer_prolog_run(isa_, a, tiles_of(inv), inv.threads);
    return Status::Ok();
  }

 private:
  Isa isa_;
  Tensor w_qb_scale_, gamma_, beta_, hq_, hk_;
  PackedI8Weights qb_;
  PackedBf16Weights wk_, wp_;
};

}  // namespace

std::unique_ptr<Plan> indexer_prolog_prepare(Backend& backend, const Invocation& weights, Isa isa) {
  return std::make_unique<IndexerPrologPlan>(backend, weights, isa);
}

Status indexer_prolog(const Invocation& inv, Isa isa) {
  IndexerPrologArgs a = call_args(inv);
  a.w_qb = inv.in("w_qb").data<int8_t>();
  a.w_qb_scale = inv.in("w_qb_scale").data<float>();
  a.wk = inv.in("wk").data<uint16_t>();
  a.w_proj = inv.in("w_proj").data<uint16_t>();
  a.ln_gamma_k = inv.in("ln_gamma_k").data<uint16_t>();
  a.ln_beta_k = inv.in("ln_beta_k").data<uint16_t>();
  a.hadamard_q = inv.in("hadamard_q").data<uint16_t>();
  a.hadamard_k = inv.in("hadamard_k").data<uint16_t>();
  indexer_prolog_run(isa, a, tiles_of(inv), inv.threads);
  return Status::Ok();
}

}  // namespace kcs::opt
