// compressor (K5) adapter: work items of block_tile blocks spread over threads; per item and head
// (main, then the CSA indexer), per column strip of cols_per_cta columns: the pooling of the
// item's blocks straight from the projection rows (compressor_pool, which forms the logits with
// the one binary32 add; spec §7.7 CPU mapping); then the epilogue on the item's rows: fused (BF16 /
// fp32 R-PAIR at the block end) or model (BF16 -> RMSNorm engine -> RoPE engine -> Hadamard on
// the BF16 GEMM engine for the indexer). Every output element is computed by one fixed
// instruction sequence whatever the strip, the tile or the thread, so both knobs and the thread
// count change no bit.
// A fresh first block (CSA, no external prev) pools over its M current positions only: the
// reference's padding (logit -inf, value 0) adds exp(-inf) = +0 to den and +0·0 to acc and never
// becomes the max, which leaves the sums bit-identical.
#include "optimized/compressor.h"

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "kcs/formats.h"
#include "kcs/kernels/compressor.h"
#include "optimized/gemm_bf16.h"
#include "optimized/kernels.h"
#include "optimized/rmsnorm.h"
#include "optimized/rope.h"
#include "optimized/variants.h"

namespace kcs::opt {

namespace {

struct Fns {
  decltype(&compressor_pool_avx2) pool;
  void (*fused_row)(const float*, int64_t, int64_t, const float*, const float*, uint16_t*);
  void (*norm)(const RmsNormRows&, int64_t, int64_t);
  void (*rope)(const RopeArgs&, int64_t, int64_t);
  void (*hadamard)(const uint16_t*, int64_t, int64_t, const uint16_t*, uint16_t*);
};

Fns fns_for(Isa isa) {
  const CompressorVariant& own = variant(kCompressorVariants, isa);
  return {own.pool, own.fused_row, variant(kRmsNormVariants, isa).rows,
          variant(kRopeVariants, isa).tokens, own.hadamard_rows};
}

struct HeadArgs {
  const char* proj = nullptr;  // [N, G, 2Ch]
  const char* prev = nullptr;  // [MP, 2Ch]
  const float* ape = nullptr;  // [G, M, Ch]
  const float* norm_w = nullptr;
  const PackedBf16View* hadamard = nullptr;  // model indexer, tiles of > kDirectHadamardRows rows
  const uint16_t* hadamard_raw = nullptr;     // model indexer: [C_I, C_I] BF16
  uint16_t* out = nullptr;                   // [n_blocks, Ch]
  int64_t Ch = 0, nope = 0;                  // rope columns [nope, Ch); nope == Ch: none
};

// Per-thread scratch, grown on demand and kept between calls (a fresh allocation per call would
// be page-faulted in every time). Only grown: the heads' sizes alternate, and resizing up again
// zero-fills (measured: +0.4 us CPU per CSA decode call).
struct Scratch {
  std::vector<float> pooled, cs, sn, work;
  std::vector<uint16_t> xb, nrm, rot;
};
template <class T>
void grow(std::vector<T>& v, int64_t n) {
  if (v.size() < static_cast<size_t>(n)) v.resize(static_cast<size_t>(n));
}

// Pooled elements (window positions x columns) per thread below which a call with fewer blocks
// than threads is not split by columns: a CSA decode block (8 x 640 for 2 threads) costs less
// than a parallel region's wake-up and barrier, an HCA block (128 x 512) does not. (The ci case
// HCA M = 128, C = 64, one block, is split with 2 threads: the Determinism test covers the path.)
constexpr int64_t kSplitElems = 4096;

// Block tiles of at most this many rows multiply the indexer's Hadamard without packing it (a
// decode call would otherwise compare or pack 128 x 128 BF16 each time, more than its block).
constexpr int64_t kDirectHadamardRows = 2;

struct Call {
  CompressorParams cp;
  Fns f;
  bool vbf16 = true, tf32 = true;
  const char* table = nullptr;
  int64_t cpc = 0;
  float eps = 0;
  Isa isa = Isa::avx2;
};

// Pools blocks [b0, b1), columns [c0, c1) (strips of cols_per_cta from c0) of one head into rows
// pooled + (i - b0) * Ch.
void pool_blocks(const Call& k, const HeadArgs& h, int64_t b0, int64_t b1, int64_t c0, int64_t c1, float* pooled,
                 Scratch& s) {
  const CompressorParams& cp = k.cp;
  const int64_t Ch = h.Ch;
  const int64_t cpc = k.cpc <= 0 || k.cpc > Ch ? Ch : k.cpc;
  grow(s.work, compressor_pool_work(Ch));
  CompressorPoolHead ph;
  ph.proj = h.proj;
  ph.prev = h.prev;
  ph.ape = h.ape;
  ph.bf16 = k.vbf16;
  ph.csa = cp.csa;
  ph.external_prev = cp.external_prev;
  ph.M = cp.M;
  ph.Ch = Ch;
  ph.start_token = cp.start_token;
  ph.n_blocks = cp.n_blocks;
  ph.work = s.work.data();
  k.f.pool(ph, b0, b1, c0, c1, cpc, pooled);
}

// The epilogue of blocks [b0, b1) of one head from their pooled rows (row i - b0).
void epilogue(const Call& k, const HeadArgs& h, int64_t b0, int64_t b1, const float* pooled, Scratch& s) {
  const CompressorParams& cp = k.cp;
  const int64_t Ch = h.Ch, rows = b1 - b0, R = cp.ROPE;
  const size_t tsize = k.tf32 ? 4 : 2;
  auto table_row = [&](int64_t i) { return k.table + static_cast<size_t>(cp.rope_pos(i) * R) * tsize; };
  if (!cp.model) {
    const int64_t nr = Ch - h.nope;
    grow(s.cs, nr);
    grow(s.sn, nr);
    for (int64_t i = b0; i < b1; ++i) {
      const char* t = table_row(i);
      for (int64_t j = 0; j < nr; ++j) {  // widen (exact) and duplicate per pair
        const int64_t pr = j / 2;
        if (k.tf32) {
          s.cs[static_cast<size_t>(j)] = reinterpret_cast<const float*>(t)[pr];
          s.sn[static_cast<size_t>(j)] = reinterpret_cast<const float*>(t)[pr + R / 2];
        } else {
          s.cs[static_cast<size_t>(j)] = bf16_to_float(reinterpret_cast<const uint16_t*>(t)[pr]);
          s.sn[static_cast<size_t>(j)] = bf16_to_float(reinterpret_cast<const uint16_t*>(t)[pr + R / 2]);
        }
      }
      k.f.fused_row(pooled + (i - b0) * Ch, Ch, h.nope, s.cs.data(), s.sn.data(), h.out + i * Ch);
    }
    return;
  }
  grow(s.xb, rows * Ch);
  grow(s.nrm, rows * Ch);
  for (int64_t r = 0; r < rows; ++r) k.f.fused_row(pooled + r * Ch, Ch, Ch, nullptr, nullptr, s.xb.data() + r * Ch);
  RmsNormRows nr;
  nr.x = s.xb.data();
  nr.gamma = h.norm_w;
  nr.gamma_f32 = true;
  nr.form = RmsNormForm::v4;
  nr.n = Ch;
  nr.eps = k.eps;
  nr.inv_n = static_cast<float>(1.0 / static_cast<double>(Ch));
  nr.fn = static_cast<float>(Ch);
  nr.y = s.nrm.data();
  k.f.norm(nr, 0, rows);
  uint16_t* rope_out = h.out + b0 * Ch;
  if (h.hadamard_raw) {
    grow(s.rot, rows * Ch);
    rope_out = s.rot.data();
  }
  for (int64_t r = 0; r < rows; ++r) {
    RopeArgs ra;
    ra.x = s.nrm.data() + r * Ch;
    ra.y = rope_out + r * Ch;
    ra.H = 1;
    ra.D = Ch;
    ra.R = R;
    ra.off = Ch - R;
    ra.mode = RopeMode::pair;
    ra.cos = table_row(b0 + r);
    ra.sin = table_row(b0 + r) + static_cast<size_t>(R / 2) * tsize;
    ra.table_f32 = k.tf32;
    ra.half_table = true;
    k.f.rope(ra, 0, 1);
  }
  if (h.hadamard_raw && !h.hadamard) {
    k.f.hadamard(s.rot.data(), rows, Ch, h.hadamard_raw, h.out + b0 * Ch);
  } else if (h.hadamard) {
    GemmBf16Args g;
    g.m = rows;
    g.k = Ch;
    g.n = Ch;
    g.a = s.rot.data();
    g.lda = Ch;
    g.y = h.out + b0 * Ch;
    g.ldy = Ch;
    g.y_dtype = DType::bf16;
    gemm_bf16_tile(k.isa, g, *h.hadamard, 0, 0, rows, 0, Ch);
  }
}

void run_head(const Call& k, const HeadArgs& h, int64_t b0, int64_t b1, Scratch& s) {
  grow(s.pooled, (b1 - b0) * h.Ch);
  pool_blocks(k, h, b0, b1, 0, h.Ch, s.pooled.data(), s);
  epilogue(k, h, b0, b1, s.pooled.data(), s);
}

}  // namespace

Status compressor(const Invocation& inv, Isa isa) {
  const int64_t cpc = inv.knob("cols_per_cta"), bt_knob = inv.knob("block_tile");
  if (cpc < 0 || cpc % 2 != 0)
    return Status::Fail("knob cols_per_cta = " + std::to_string(cpc) +
                        " must be even and >= 0 (RoPE pairs are never split, docs/kernels/compressor.md)");
  if (bt_knob < 0) return Status::Fail("knob block_tile = " + std::to_string(bt_knob) + " must be >= 0");
  Call k;
  CompressorParams& cp = k.cp;
  const Problem& p = *inv.problem;
  cp = compressor_params(p);
  k.f = fns_for(isa);
  k.isa = isa;
  k.vbf16 = inv.in("proj").dtype() == DType::bf16;
  k.tf32 = inv.in("cos_sin_cache").dtype() == DType::fp32;
  k.table = static_cast<const char*>(inv.in("cos_sin_cache").raw());
  k.cpc = cpc;
  k.eps = static_cast<float>(cp.eps);  // parsed once, by compressor_params
  const int64_t nb = cp.n_blocks;
  if (nb == 0) return Status::Ok();
  HeadArgs mh;
  mh.proj = static_cast<const char*>(inv.in("proj").raw());
  mh.prev = static_cast<const char*>(inv.in("prev_b").raw());
  mh.ape = inv.in("ape").data<float>();
  mh.norm_w = inv.in("norm_w").data<float>();
  mh.out = inv.out("kv_out").data<uint16_t>();
  mh.Ch = cp.C;
  mh.nope = cp.NOPE;
  const int64_t bt_req = bt_knob == 0 ? nb : bt_knob;
  const int64_t nthreads = std::max(inv.threads, 1);
  // Neither the block tile nor the split below changes a bit: every pooled column is one engine
  // sequence and every epilogue row one sequence, wherever they run.
  // Fewer items than threads: smaller tiles, so that every thread gets blocks.
  const int64_t bt = std::max<int64_t>(1, std::min(bt_req, (nb + nthreads - 1) / nthreads));
  const int64_t items = (nb + bt - 1) / bt;
  const int64_t per_block = cp.window() * (cp.C + (cp.csa ? cp.C_I : 0));
  const bool split = items < nthreads && nb * per_block >= kSplitElems * nthreads;
  HeadArgs ih;
  // The Hadamard: tiles of a few rows (decode) multiply by the unpacked matrix directly; larger
  // tiles use the BF16 GEMM engine on a packed copy, kept between calls and re-packed only when
  // the matrix bytes change. Both run the same IEEE operations (optimized/compressor.h), so the
  // tile size cannot change a bit.
  thread_local PackedBf16Weights packed;
  thread_local std::vector<uint16_t> packed_src;
  if (cp.csa) {
    ih.proj = static_cast<const char*>(inv.in("proj_indexer").raw());
    ih.prev = static_cast<const char*>(inv.in("prev_b_indexer").raw());
    ih.ape = inv.in("ape_indexer").data<float>();
    ih.norm_w = inv.in("norm_w_indexer").data<float>();
    ih.out = inv.out("indexer_out").data<uint16_t>();
    ih.Ch = cp.C_I;
    ih.nope = cp.model ? cp.C_I - cp.ROPE : cp.C_I;  // fused: no indexer RoPE (spec §7.4)
    if (cp.model) {
      const uint16_t* h = inv.in("hadamard").data<uint16_t>();
      ih.hadamard_raw = h;
      if (!split && bt > kDirectHadamardRows) {
        const size_t hn = static_cast<size_t>(cp.C_I * cp.C_I);
        if (packed_src.size() != hn || std::memcmp(packed_src.data(), h, hn * sizeof(uint16_t)) != 0) {
          pack_bf16_weights_into(packed, h, 1, cp.C_I, cp.C_I, cp.C_I, 0, 1);
          packed_src.assign(h, h + hn);
        }
        ih.hadamard = &packed.view();
      }
    }
  }
  if (split) {
    // Fewer blocks than threads and enough work (an HCA decode block): the pooling is split into
    // (block, head, column strip) units, then each (block, head) runs its epilogue.
    // Unit widths: about C / threads, in whole 16-column vectors (the pooling of a column does
    // not depend on its strip, so any width gives the same bits).
    auto width = [&](int64_t c) { return std::max<int64_t>(16, (c + 16 * nthreads - 1) / (16 * nthreads) * 16); };
    const int64_t cpc_m = width(cp.C), cpc_i = width(cp.C_I);
    const int64_t sm = (cp.C + cpc_m - 1) / cpc_m, si = cp.csa ? (cp.C_I + cpc_i - 1) / cpc_i : 0;
    thread_local std::vector<float> pm, pi;
    pm.resize(static_cast<size_t>(nb * cp.C));
    pi.resize(static_cast<size_t>(nb * cp.C_I));
    const int64_t units = nb * (sm + si), heads = cp.csa ? 2 : 1;
    const int threads = static_cast<int>(std::min<int64_t>(nthreads, units));
    float* pmd = pm.data();
    float* pid = pi.data();
#pragma omp parallel num_threads(threads)
    {
      thread_local Scratch s;
#pragma omp for schedule(static)
      for (int64_t u = 0; u < units; ++u) {
        const int64_t b = u / (sm + si), r = u % (sm + si);
        if (r < sm)
          pool_blocks(k, mh, b, b + 1, r * cpc_m, std::min(cp.C, (r + 1) * cpc_m), pmd + b * cp.C, s);
        else
          pool_blocks(k, ih, b, b + 1, (r - sm) * cpc_i, std::min(cp.C_I, (r - sm + 1) * cpc_i), pid + b * cp.C_I, s);
      }
#pragma omp for schedule(static)
      for (int64_t u = 0; u < nb * heads; ++u) {
        const int64_t b = u / heads;
        if (u % heads == 0)
          epilogue(k, mh, b, b + 1, pmd + b * cp.C, s);
        else
          epilogue(k, ih, b, b + 1, pid + b * cp.C_I, s);
      }
    }
    return Status::Ok();
  }
  // No more threads than items: a decode call (one block) runs without a parallel region's
  // wake-up and barrier.
  const int threads = static_cast<int>(std::min<int64_t>(nthreads, items));
#pragma omp parallel num_threads(threads) if (threads > 1)
  {
    thread_local Scratch s;
#pragma omp for schedule(static)
    for (int64_t it = 0; it < items; ++it) {
      const int64_t b0 = it * bt, b1 = std::min(nb, b0 + bt);
      run_head(k, mh, b0, b1, s);
      if (cp.csa) run_head(k, ih, b0, b1, s);
    }
  }
  return Status::Ok();
}

}  // namespace kcs::opt
