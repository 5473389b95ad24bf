// K1 indexer_prolog (spec §3) at the shapes of bench_shapes.json "indexer_prolog"; the reference
// and each row of kIndexerPrologVariants. Rows indexer_prolog/<impl>/t:T/threads:N:
//   avx512, avx2  opt::indexer_prolog_run (the adapter's whole call, default tile knobs) on caller
//                 memory; the weight sets (w_qb, wk, w_proj) rotate over copies >= 96 MiB (3x L3),
//                 huge-page backed like the bandwidth probe's buffer: every call streams them.
//   prepacked:*   the same with the weights packed once per copy outside the timed loop (what an
//                 inference engine does at load time); the packed copies rotate the same way.
//   api:*         the public API (bench/harness.h), t <= 16: weights prepared once per copy
//                 (Backend::prepare), each call through Plan::run with its validation.
//   ref           the reference backend through its plan, t = 1 only.
// Counters: bytes = weights + x + q_norm + outputs + written cache rows; int8_ops = 2·t·q_lora·H·D;
// bf16_ops = 2·t·h·(D + H) + 2·t·(H + 1)·D² (x·wk, x·w_proj, the two Hadamards); frac_of_limit =
// max(bytes / read_gbs, int8_ops / vnni_gops + bf16_ops / bf16_gflops (fma_gflops without
// AVX512-BF16)) / time, all measured in this process.
#include <algorithm>
#include <map>
#include <memory>
#include <vector>

#include "bench/harness.h"
#include "kcs/formats.h"
#include "tables/hadamard.h"
#include "optimized/indexer_prolog.h"

namespace kcs::bench {
namespace {

struct Dim {
  int64_t h, ql, H, D, R, bs;
  int64_t set_bytes() const { return ql * H * D + 2 * h * (D + H); }
};
constexpr double kPoolBytes = double(int64_t{96} << 20);

// Weight sets (w_qb, wk, w_proj: what streams per call), packed per ISA on demand, and the small
// tensors every call shares.
struct Pool {
  struct Set {
    int8_t* w_qb;
    uint16_t *wk, *w_proj;
  };
  struct Packed {
    opt::PackedI8Weights qb;
    opt::PackedBf16Weights wk, wp;
  };
  std::vector<Set> sets;
  std::map<int, std::vector<std::unique_ptr<Packed>>> packed;  // by Isa
  std::vector<float> w_qb_scale;
  std::vector<uint16_t> gamma, beta, hq;
  explicit Pool(const Dim& d) : w_qb_scale(d.H * d.D, 1.0f / 60000.0f), gamma(d.D, bf16_from_double(1.0)),
                                beta(d.D, bf16_from_double(0.01)), hq(sylvester_hadamard_bf16(d.D)) {
    uint64_t s = 12345;
    auto small = [&s](uint16_t* w, int64_t n) {
      for (int64_t e = 0; e < n; ++e) w[e] = bf16_from_double(((xorshift(s) >> 40) / 16777216.0 - 0.5) * 0.02);
    };
    for (int64_t c = copies_for(kPoolBytes, d.set_bytes(), 1) + 1; c > 0; --c) {
      sets.push_back({stream_array<int8_t>(d.ql * d.H * d.D), stream_array<uint16_t>(d.h * d.D), stream_array<uint16_t>(d.h * d.H)});
      fill_i8(sets.back().w_qb, d.ql * d.H * d.D, c);
      small(sets.back().wk, d.h * d.D);
      small(sets.back().w_proj, d.h * d.H);
    }
  }
  const std::vector<std::unique_ptr<Packed>>& packed_for(Isa isa, const Dim& d) {
    auto& v = packed[static_cast<int>(isa)];
    for (size_t c = v.size(); c < sets.size(); ++c) {
      v.push_back(std::make_unique<Packed>());
      v.back()->qb = opt::pack_i8_weights(isa, sets[c].w_qb, d.H * d.D, d.ql, d.H * d.D, 2);
      v.back()->wk = opt::pack_bf16_weights(sets[c].wk, 1, d.h, d.D, d.D, 0, 2);
      v.back()->wp = opt::pack_bf16_weights(sets[c].w_proj, 1, d.h, d.H, d.H, 0, 2);
    }
    return v;
  }
};

void counters(benchmark::State& st, const Dim& d, int64_t t, int threads, double secs) {
  const double T = static_cast<double>(t);
  const double bytes = static_cast<double>(d.set_bytes()) + T * static_cast<double>(2 * d.h + d.ql + d.H * d.D + 4 * d.H + d.D + 2);
  const double i8 = 2.0 * T * d.ql * d.H * d.D;
  const double bf = 2.0 * T * d.h * (d.D + d.H) + 2.0 * T * (d.H + 1) * d.D * d.D;
  const Limits& L = measure_limits(threads);
  const double bf_peak = L.bf16_gflops > 0 ? L.bf16_gflops : L.fma_gflops;
  const double t_bw = bytes / (L.read_gbs * 1e9);
  const double t_cmp = (L.vnni_gops > 0 ? i8 / (L.vnni_gops * 1e9) : 0) + (bf_peak > 0 ? bf / (bf_peak * 1e9) : 0);
  const double per_iter = secs / static_cast<double>(st.iterations());
  st.counters["bytes_per_second"] = bytes / per_iter;
  st.counters["ops_per_second"] = (i8 + bf) / per_iter;
  st.counters["bw_limit_us"] = t_bw * 1e6;
  st.counters["compute_limit_us"] = t_cmp * 1e6;
  st.counters["frac_of_limit"] = std::max(t_bw, t_cmp) / per_iter;
}

void bm_opt(benchmark::State& st, Isa isa, bool prepacked, const Problem& pr, Dim d, int64_t t, int threads) {
  if (skip_unavailable(st, impl_of(isa))) return;
  static std::map<int64_t, std::unique_ptr<Pool>> pools;  // by weight-set size
  auto& slot = pools[d.set_bytes()];
  if (!slot) slot = std::make_unique<Pool>(d);
  Pool& p = *slot;
  TensorMap a = make_tensors(pr, 777 + static_cast<uint64_t>(t));  // activations, tables, caches, outputs
  const auto* pk = prepacked ? &p.packed_for(isa, d) : nullptr;
  const opt::IndexerPrologTiles tiles;  // the declaration's defaults
  auto call = [&](size_t c) {
    opt::IndexerPrologArgs g;
    g.t = t, g.h = d.h, g.q_lora = d.ql, g.H = d.H, g.D = d.D, g.R = d.R;
    g.block_num = pr.dim("block_num"), g.block_size = d.bs, g.eps = static_cast<float>(pr.attr_f64("eps"));
    g.x = a["x"].data<uint16_t>(), g.q_norm = a["q_norm"].data<int8_t>(), g.q_norm_scale = a["q_norm_scale"].data<float>();
    g.w_qb = p.sets[c].w_qb, g.w_qb_scale = p.w_qb_scale.data(), g.wk = p.sets[c].wk, g.w_proj = p.sets[c].w_proj;
    g.ln_gamma_k = p.gamma.data(), g.ln_beta_k = p.beta.data(), g.hadamard_q = g.hadamard_k = p.hq.data();
    g.cos = a["cos"].data<uint16_t>(), g.sin = a["sin"].data<uint16_t>();
    g.k_cache = a["k_cache"].data<int8_t>(), g.k_scale_cache = a["k_scale_cache"].data<uint16_t>();
    g.k_cache_index = a["k_cache_index"].data<int64_t>();
    g.q_int8 = a["q_int8"].data<int8_t>(), g.q_scale = a["q_scale"].data<uint16_t>(), g.weights = a["weights"].data<uint16_t>();
    if (pk) {
      g.w_qb_packed = &(*pk)[c]->qb.view();
      g.wk_packed = &(*pk)[c]->wk.view();
      g.w_proj_packed = &(*pk)[c]->wp.view();
    }
    opt::indexer_prolog_run(isa, g, tiles, threads);
  };
  call(0);  // warm scratch and per-call pack buffers
  const int64_t n = static_cast<int64_t>(p.sets.size());
  const double secs = timed_loop(st, threads, n, [&](int64_t k) { call(static_cast<size_t>((k + 1) % n)); });
  counters(st, d, t, threads, secs);
}

}  // namespace

void register_benchmarks() {
  for (const Shape& s : shapes("indexer_prolog")) {
    const Dim d{s.i("h"), s.i("q_lora"), s.i("H"), s.i("D"), s.i("R"), s.i("block_size")};
    const int64_t t = s.i("t");
    Dims pd = s.dims({"t", "h", "q_lora", "H", "D", "R", "block_size"});
    pd["block_num"] = (t + d.bs - 1) / d.bs + 1;
    ApiBench api{make_problem("indexer_prolog", pd), Work()};
    api.counters = [d, t](benchmark::State& st, int threads, double secs) { counters(st, d, t, threads, secs); };
    if (t == 1) add("indexer_prolog/ref/t:1/threads:1", bm_api, Impl::reference, api, 1)->Iterations(3);
    api.pool_bytes = kPoolBytes;
    api.streamed = {"w_qb", "wk", "w_proj"};
    for_each_variant(opt::kIndexerPrologVariants, [&](const opt::IndexerPrologVariant& v, int threads) {
      for (bool pre : {false, true})
        add(std::string("indexer_prolog/") + (pre ? "prepacked:" : "") + isa_name(v.isa) + "/" + s.tail({"t"}) +
                "/threads:" + std::to_string(threads), bm_opt, v.isa, pre, api.problem, d, t, threads);
      if (t <= 16)
        add("indexer_prolog/api:" + std::string(isa_name(v.isa)) + "/" + s.tail({"t"}) + "/threads:" +
                std::to_string(threads), bm_api, impl_of(v.isa), api, threads);
    });
  }
}

}  // namespace kcs::bench
