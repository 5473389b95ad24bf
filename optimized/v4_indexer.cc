// K3 adapter (spec §5.3): the q side runs on the primitives' engines over the whole decode batch
// (Q8 rows, int8 GEMM direct / packed, R-PAIR RoPE, BF16 GEMM for the Hadamard and the weights),
// the score side as work items (token, cache tile of cache_tile rows) over OpenMP threads, each
// item writing only its own score rows (optimized/v4_indexer.h), then the fast top-k per token.
// Token / cache / head tiling and the thread count change no bit (rows and tokens are
// independent, every reduction has one fixed order); hadamard_k_block and weights_k_block change
// the BF16 GEMM summation blocks (within the contracts).
#include "optimized/v4_indexer.h"

#include <omp.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "kcs/formats.h"
#include "kcs/kernels/v4_indexer.h"
#include "optimized/gemm_bf16.h"
#include "optimized/gemm_i8.h"
#include "optimized/kernels.h"
#include "optimized/q8.h"
#include "optimized/rope.h"
#include "optimized/scratch.h"
#include "optimized/variants.h"

namespace kcs::opt {

namespace {

thread_local ScratchBuffer s_pack("v4_indexer"), s_q("v4_indexer"), s_qrot("v4_indexer"), s_qh("v4_indexer");

}  // namespace

void v4_topk_fast(const float* score, int64_t n, int64_t topk, int64_t offset, int32_t* out, int64_t out_len) {
  const int64_t k = std::min(topk, n);
  // Order-preserving integer keys (−0 folded onto +0: the reference compares floats), each with
  // the index below it so that one uint64 order is "score descending, then lower index first".
  auto key = [&](int64_t j) -> uint32_t {
    uint32_t b;
    std::memcpy(&b, score + j, 4);
    if (b == 0x80000000u) b = 0;
    return (b & 0x80000000u) ? ~b : b | 0x80000000u;
  };
  auto pack = [&](int64_t j) { return (uint64_t{key(j)} << 32) | (0xFFFFFFFFu - static_cast<uint32_t>(j)); };
  std::vector<uint64_t> sel;
  sel.reserve(static_cast<size_t>(k) + 64);
  if (k > 0 && k < n) {
    // Radix select on the top 11 bits: the bucket holding the k-th key; everything above it is in.
    static constexpr int kBits = 11;
    std::vector<uint32_t> hist(1u << kBits, 0);
    for (int64_t j = 0; j < n; ++j) ++hist[key(j) >> (32 - kBits)];
    int64_t above = 0;
    uint32_t b = (1u << kBits) - 1;
    while (above + hist[b] < k) above += hist[b--];
    for (int64_t j = 0; j < n; ++j)
      if ((key(j) >> (32 - kBits)) >= b) sel.push_back(pack(j));
    // The candidates: all of the higher buckets plus bucket b; keep the k largest.
    std::nth_element(sel.begin(), sel.begin() + (k - 1), sel.end(), std::greater<uint64_t>());
    sel.resize(static_cast<size_t>(k));
  } else {
    for (int64_t j = 0; j < n; ++j) sel.push_back(pack(j));
  }
  std::sort(sel.begin(), sel.end(), std::greater<uint64_t>());
  for (int64_t i = 0; i < out_len; ++i)
    out[i] = i < k ? static_cast<int32_t>(0xFFFFFFFFu - static_cast<uint32_t>(sel[static_cast<size_t>(i)]) + offset) : -1;
}

void v4_score_spans(int64_t T, int64_t cl, int64_t ct, int threads,
                    const std::function<void(int64_t, int64_t, int64_t)>& fn) {
  if (T <= 0 || cl <= 0) return;
  if (ct <= 0) ct = cl;
  const int64_t tiles = (cl + ct - 1) / ct, items = T * tiles;
  const int nt = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(threads, items)));
#pragma omp parallel num_threads(nt) if (nt > 1)
  {
    const int64_t id = omp_get_thread_num(), n = omp_get_num_threads();
    int64_t i = items * id / n;
    const int64_t end = items * (id + 1) / n;
    while (i < end) {
      const int64_t t = i / tiles, e = std::min(end, (t + 1) * tiles);
      fn(t, (i - t * tiles) * ct, std::min(cl, (e - t * tiles) * ct));
      i = e;
    }
  }
}

Status v4_indexer(const Invocation& inv, Isa isa) {
  const Problem& p = *inv.problem;
  const int64_t B = p.dim("B"), S = p.dim("S"), T = B * S, D = p.dim("D"), QL = p.dim("Q_LORA"), H = p.dim("H"),
                Dh = p.dim("Dh"), R = p.dim("R"), L = p.dim("SCORE_LEN"), TOPK = p.dim("TOPK");
  const int64_t HD = H * Dh, offset = p.attr_i64("offset");
  const int64_t cl = v4_indexer_cache_len(p.attr_i64("start_pos"), S);
  if (Dh > 4096) return Status::Fail("v4_indexer: the optimized score path supports Dh <= 4096");
  const Q8Params q8p = v4_indexer_q8_params(p);
  const int threads = inv.threads;
  int64_t token_tile = inv.knob("token_tile");
  if (token_tile <= 0) token_tile = std::max<int64_t>(T, 1);
  float* score = inv.out("score").data<float>();
  int32_t* topk = inv.out("topk_idxs").data<int32_t>();
  std::fill(score, score + T * L, kV4NegFill);
  std::fill(topk, topk + T * L, -1);
  if (T == 0) return Status::Ok();
  const bool avx512 = vector_isa(isa) == Isa::avx512;  // the packed qh layout differs (below)
  const Q8Variant& q8v = variant(kQ8Variants, isa);

  // 1. qr Q8.
  std::vector<int8_t> qr_i8(static_cast<size_t>(T * QL));
  std::vector<float> s_qr(static_cast<size_t>(T));
  {
    Q8Rows a;
    a.x = inv.in("qr").raw();
    a.n = QL;
    a.params = q8p;
    a.codes = qr_i8.data();
    a.scale = s_qr.data();
    q8v.rows(a, 0, T);
  }
  // 2. q = bf16 dequant of qr_i8 · wq_b (direct path for decode batches, packed from 13 rows).
  uint16_t* q = s_q.get<uint16_t>(T * HD);
  uint16_t* q_rot = s_qrot.get<uint16_t>(T * HD);
  uint16_t* qh = s_qh.get<uint16_t>(T * HD);
  {
    GemmI8Args g;
    g.m = T, g.k = QL, g.n = HD;
    g.a = qr_i8.data(), g.lda = QL;
    g.w = inv.in("wq_b").data<int8_t>(), g.ldw = HD;
    g.s_row = s_qr.data(), g.s_col = inv.in("wq_b_scale").data<float>();
    g.y = q, g.ldy = HD, g.y_dtype = DType::bf16;
    GemmI8Tiling t;
    t.m_tile = token_tile;
    t.block.k_block = inv.knob("q_k_block");
    if (T >= kGemmI8PackMinM) {
      const PackedI8View pw = pack_i8_weights_into(isa, g.w, HD, QL, HD, threads,
                                                   s_pack.get<uint8_t>(static_cast<int64_t>(packed_i8_bytes(isa, QL, HD))));
      gemm_i8_run(isa, g, &pw, t, threads);
    } else {
      gemm_i8_run(isa, g, nullptr, t, threads);
    }
  }
  // 3. R-PAIR on the last R columns (the shared table row replicated per token).
  {
    std::vector<float> cs(static_cast<size_t>(T * R / 2)), sn(cs.size());
    for (int64_t t = 0; t < T; ++t) {
      std::memcpy(&cs[static_cast<size_t>(t * R / 2)], inv.in("cos").raw(), static_cast<size_t>(R / 2) * 4);
      std::memcpy(&sn[static_cast<size_t>(t * R / 2)], inv.in("sin").raw(), static_cast<size_t>(R / 2) * 4);
    }
    RopeArgs a;
    a.x = q, a.y = q_rot;
    a.H = H, a.D = Dh, a.R = R, a.off = Dh - R;
    a.mode = RopeMode::pair;
    a.cos = cs.data(), a.sin = sn.data();
    a.table_f32 = true, a.half_table = true;
    variant(kRopeVariants, isa).tokens(a, 0, T);
  }
  // 4. qh = bf16(q_rot · hadamard).
  {
    thread_local PackedBf16Weights packed;
    pack_bf16_weights_into(packed, inv.in("hadamard").data<uint16_t>(), 1, Dh, Dh, Dh, 0, threads);
    GemmBf16Args g;
    g.m = T * H, g.k = Dh, g.n = Dh;
    g.a = q_rot, g.lda = Dh;
    g.y = qh, g.ldy = Dh, g.y_dtype = DType::bf16;
    g.k_block = inv.knob("hadamard_k_block");
    GemmBf16Tiling t;
    t.m_tile = token_tile * H;
    gemm_bf16_run(isa, g, packed.view(), t, threads);
  }
  // 5. per-head Q8.
  std::vector<int8_t> qh_i8(static_cast<size_t>(T * HD));
  std::vector<float> s_qh(static_cast<size_t>(T * H));
  {
    Q8Rows a;
    a.x = qh;
    a.n = Dh;
    a.params = q8p;
    a.codes = qh_i8.data();
    a.scale = s_qh.data();
    q8v.rows(a, 0, T * H);
  }
  // 6. w = f32(x · weights_proj) ⊗ WS.
  std::vector<float> w(static_cast<size_t>(T * H));
  {
    thread_local PackedBf16Weights packed;
    pack_bf16_weights_into(packed, inv.in("weights_proj").data<uint16_t>(), 1, D, H, H, 0, threads);
    GemmBf16Args g;
    g.m = T, g.k = D, g.n = H;
    g.a = inv.in("x").data<uint16_t>(), g.lda = D;
    g.y = w.data(), g.ldy = H, g.y_dtype = DType::fp32;
    g.k_block = inv.knob("weights_k_block");
    GemmBf16Tiling t;
    t.m_tile = token_tile;
    t.n_tile = inv.knob("head_chunk");
    gemm_bf16_run(isa, g, packed.view(), t, threads);
    const float ws = v4_indexer_weights_scale(Dh, H);
    for (float& v : w) v = v * ws;
  }
  if (cl == 0) return Status::Ok();

  // 7. Per-token packing of qh for the score kernels (ISA layout of optimized/v4_indexer.h).
  const int64_t Dq = (Dh + 3) / 4;
  std::vector<int32_t> qdw(static_cast<size_t>(T * H * Dq * (avx512 ? 1 : 2))), qinit(static_cast<size_t>(T * H));
  for (int64_t th = 0; th < T * H; ++th) {
    const int8_t* c = qh_i8.data() + th * Dh;
    auto at = [&](int64_t d) -> int32_t { return d < Dh ? c[d] : 0; };
    int32_t sum = 0;
    for (int64_t d = 0; d < Dh; ++d) sum += c[d];
    qinit[static_cast<size_t>(th)] = -128 * sum;
    for (int64_t qq = 0; qq < Dq; ++qq) {
      const int64_t d = 4 * qq;
      if (avx512) {
        qdw[static_cast<size_t>(th * Dq + qq)] = static_cast<int32_t>(
            (uint32_t{static_cast<uint8_t>(at(d))}) | (uint32_t{static_cast<uint8_t>(at(d + 1))} << 8) |
            (uint32_t{static_cast<uint8_t>(at(d + 2))} << 16) | (uint32_t{static_cast<uint8_t>(at(d + 3))} << 24));
      } else {
        auto pair = [](int32_t lo, int32_t hi) {
          return static_cast<int32_t>((static_cast<uint32_t>(lo) & 0xFFFFu) | (static_cast<uint32_t>(hi) << 16));
        };
        qdw[static_cast<size_t>((2 * th) * Dq + qq)] = pair(at(d), at(d + 2));
        qdw[static_cast<size_t>((2 * th + 1) * Dq + qq)] = pair(at(d + 1), at(d + 3));
      }
    }
  }
  // 8-11. Score work items (token, cache tile).
  int64_t ct = inv.knob("cache_tile");
  if (ct <= 0) ct = cl;
  const uint16_t* cache = inv.in("idx_kv_cache").data<uint16_t>();
  auto fn = variant(kV4IndexerVariants, isa).score_rows;
  v4_score_spans(T, cl, ct, threads, [&](int64_t t, int64_t j0, int64_t j1) {
    V4ScoreArgs a;
    a.cache = cache + (t / S) * L * Dh;
    a.Dh = Dh, a.H = H, a.Dq = Dq;
    a.q8 = q8p;
    a.qh_dw = qdw.data() + t * H * Dq * (avx512 ? 1 : 2);
    a.qh_init = qinit.data() + t * H;
    a.s_qh = s_qh.data() + t * H;
    a.w = w.data() + t * H;
    a.score = score + t * L;
    fn(a, j0, j1);
  });
  // 12. top-k per token.
#pragma omp parallel for num_threads(threads) schedule(static) if (T > 1)
  for (int64_t t = 0; t < T; ++t) v4_topk_fast(score + t * L, cl, TOPK, offset, topk + t * L, L);
  return Status::Ok();
}

}  // namespace kcs::opt
