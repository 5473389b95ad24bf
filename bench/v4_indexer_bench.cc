// K3 V4 decode indexer (spec §5) at the shapes of bench_shapes.json "v4_indexer". Rows
// v4_indexer/<mode>:<impl>/B:b/cache_len:n/threads:t:
//   score:*  the score path alone (Q8 of the cache rows, int8 score GEMM, dequant, ReLU, weighted
//            head sum, top-k) through each row of kV4IndexerVariants over the adapter's work items,
//            every iteration on another copy of the BF16 cache out of a 512 MiB pool (DRAM).
//   api:*    the whole kernel through Backend::run(); the reference at B 1 and threads 1 only.
// Counters: score: bytes = B·cache_len·Dh·2, ops = 2·B·cache_len·H·Dh on the VNNI peak, and for
// avx2 frac_of_isa_peak on AVX2's exact int8 peak (probed here); api adds the q side: its weights
// and activations, int8 ops 2·B·Q_LORA·H·Dh, BF16 ops 2·B·D·H + 2·B·H·Dh² (BF16 peak).
#include <immintrin.h>

#include <algorithm>
#include <map>
#include <mutex>
#include <vector>

#include "bench/harness.h"
#include "fixtures/generators/generators.h"
#include "kcs/kernels/v4_indexer.h"
#include "optimized/v4_indexer.h"

namespace kcs::bench {
namespace {

constexpr int64_t kCacheTile = 32;  // the declaration's default cache_tile (the adapter's work items)
constexpr int64_t kPoolElems = int64_t{256} << 20;  // 512 MiB of BF16

struct Dims3 {  // cache_len is n; offset: the top-k indices' (an attribute)
  int64_t B, n, H, Dh, topk, offset;
};

Work score_work(const Dims3& d) {
  return {static_cast<double>(d.B * d.n * d.Dh * 2), 2.0 * static_cast<double>(d.B * d.n * d.H * d.Dh), Peak::vnni};
}

Work api_work(const Dims3& d, int64_t D, int64_t q_lora) {
  Work w = score_work(d);
  w.bytes += static_cast<double>(q_lora * d.H * d.Dh + D * d.H * 2 + d.Dh * d.Dh * 2 + d.B * (D + q_lora) * 2);
  w.ops += 2.0 * static_cast<double>(d.B * q_lora * d.H * d.Dh);
  w.ops2 = 2.0 * static_cast<double>(d.B * D * d.H + d.B * d.H * d.Dh * d.Dh), w.peak2 = Peak::bf16;
  return w;
}

// AVX2's exact int8 peak in GOP/s on `threads` threads (best of 5, cached): 12 independent
// acc += vpmaddwd(x, y) chains, 16 products each.
__attribute__((target("avx2"), noinline)) void madd_chains(int64_t iters) {
  __m256i a[12];
  for (int i = 0; i < 12; ++i) a[i] = _mm256_set1_epi32(i);
  const __m256i x = _mm256_set1_epi32(0x00010001), y = _mm256_set1_epi32(0x00020002);
  for (int64_t k = 0; k < iters; ++k)
#pragma GCC unroll 12
    for (int i = 0; i < 12; ++i) a[i] = _mm256_add_epi32(a[i], _mm256_madd_epi16(x, y));
  for (int i = 1; i < 12; ++i) a[0] = _mm256_add_epi32(a[0], a[i]);
  benchmark::DoNotOptimize(a[0]);
}
double avx2_int8_peak(int threads) {
  static std::mutex mu;
  static std::map<int, double> cache;
  const std::lock_guard<std::mutex> lock(mu);
  if (auto it = cache.find(threads); it != cache.end()) return it->second;
  constexpr int64_t kIters = 2000000;
  madd_chains(kIters / 10);
  double best = 0;
  for (int pass = 0; pass < 5; ++pass) {  // preemption only adds time
    const double t0 = now_seconds();
#pragma omp parallel num_threads(threads)
    madd_chains(kIters);
    best = std::max(best, 2.0 * 16 * 12 * kIters * threads / (now_seconds() - t0) / 1e9);
  }
  return cache[threads] = best;
}

// One token's q side as the score path sees it: codes [H, Dh] (random), scales, head weights, and
// the codes in the dword layouts of the AVX-512 and AVX2 score kernels (optimized/v4_indexer.h).
struct QSide {
  std::vector<float> s_qh, w;
  std::vector<int32_t> dw512, init512, dw256;
  QSide(int64_t H, int64_t Dh) : s_qh(H), w(H), dw512(H * Dh / 4), init512(H), dw256(2 * H * Dh / 4) {
    Rng rng(5);  // codes first, then per head its scale and weight
    std::vector<int> qh(static_cast<size_t>(H * Dh));
    for (int& c : qh) c = static_cast<int>(rng.below(255)) - 127;
    for (int64_t h = 0; h < H; ++h) {
      s_qh[h] = static_cast<float>(rng.uniform(0.005, 0.02));
      w[h] = static_cast<float>(rng.normal() * 0.011);
    }
    auto u8 = [](int c) { return static_cast<uint32_t>(c) & 0xFFu; };
    auto pair = [](int lo, int hi) { return static_cast<int32_t>((static_cast<uint32_t>(lo) & 0xFFFFu) | static_cast<uint32_t>(hi) << 16); };
    for (int64_t h = 0, Dq = Dh / 4; h < H; ++h)
      for (int64_t k = 0; k < Dq; ++k) {
        const int* c = &qh[static_cast<size_t>(h * Dh + 4 * k)];
        init512[h] -= 128 * (c[0] + c[1] + c[2] + c[3]);
        dw512[h * Dq + k] = static_cast<int32_t>(u8(c[0]) | u8(c[1]) << 8 | u8(c[2]) << 16 | u8(c[3]) << 24);
        dw256[(2 * h) * Dq + k] = pair(c[0], c[2]);
        dw256[(2 * h + 1) * Dq + k] = pair(c[1], c[3]);
      }
  }
};

void bm_score(benchmark::State& st, const opt::V4IndexerVariant& v, Dims3 d, int threads) {
  if (skip_unavailable(st, impl_of(v.isa))) return;
  static uint16_t* const pool = [] {
    uint16_t* x = stream_array<uint16_t>(kPoolElems);
    fill_bf16(x, kPoolElems, 3, 124, 6);  // N(0,1)-like: 2^-3 .. 2^2
    return x;
  }();
  const QSide q(d.H, d.Dh);
  const int64_t B = d.B, n = d.n, per = B * n * d.Dh;
  std::vector<float> score(static_cast<size_t>(B * n));
  std::vector<int32_t> idx(static_cast<size_t>(B * n));
  const bool avx512 = vector_isa(v.isa) == Isa::avx512;  // amx: the AVX-512 qh layout
  opt::V4ScoreArgs a;
  a.Dh = d.Dh, a.H = d.H, a.Dq = d.Dh / 4, a.q8.floor = true;
  a.qh_dw = avx512 ? q.dw512.data() : q.dw256.data(), a.qh_init = q.init512.data(), a.s_qh = q.s_qh.data(), a.w = q.w.data();
  const double isa_peak = avx512 ? 0 : avx2_int8_peak(threads);
  Work work = score_work(d);
  if (v.isa == Isa::amx) work.peak = Peak::amx_int8;  // the int8 products run on the tile unit
  const double secs = timed_loop(st, threads, copies_for(kPoolElems, per), [&](int64_t k) {
    opt::v4_score_spans(B, n, kCacheTile, threads, [&](int64_t t, int64_t j0, int64_t j1) {
      opt::V4ScoreArgs ai = a;
      ai.cache = pool + k * per + t * n * d.Dh;
      ai.score = &score[t * n];
      v.score_rows(ai, j0, j1);
    });
#pragma omp parallel for num_threads(threads) schedule(static) if (B > 1)
    for (int64_t t = 0; t < B; ++t) opt::v4_topk_fast(&score[t * n], n, d.topk, d.offset, &idx[t * n], n);
    benchmark::DoNotOptimize(idx.data());
  });
  add_roofline_counters(st, work, threads, secs);
  if (isa_peak > 0 && st.iterations() > 0)
    st.counters["frac_of_isa_peak"] = work.ops / (secs / static_cast<double>(st.iterations())) / (isa_peak * 1e9);
}

}  // namespace

void register_benchmarks() {
  for (const Shape& s : shapes("v4_indexer")) {
    Attrs at = s.attrs();
    const Dims3 d{s.i("B"), s.i("cache_len"), s.i("H"), s.i("Dh"), s.i("TOPK"), std::stoll(at.at("offset"))};
    Dims pd = s.dims({"B", "S", "D", "Q_LORA", "H", "Dh", "R", "TOPK"});
    pd["SCORE_LEN"] = d.n;
    at["start_pos"] = std::to_string(kV4CompressRatio * d.n - pd["S"]);  // the step whose cache holds n rows
    const ApiBench api{make_problem("v4_indexer", pd, at), api_work(d, s.i("D"), s.i("Q_LORA"))};
    const std::string tail = s.tail({"B", "cache_len"});
    if (d.B == 1) add(row_name("v4_indexer", "api", Impl::reference, tail, 1), bm_api, Impl::reference, api, 1);
    for_each_variant(opt::kV4IndexerVariants, [&](const opt::V4IndexerVariant& v, int threads) {
      add(row_name("v4_indexer", "score", impl_of(v.isa), tail, threads), bm_score, v, d, threads);
      ApiBench api_v = api;
      // amx: all int8 ops on the tile peak (the q side's run on VNNI): a shorter limit, never a longer one.
      if (v.isa == Isa::amx) api_v.work.peak = Peak::amx_int8;
      add(row_name("v4_indexer", "api", impl_of(v.isa), tail, threads), bm_api, impl_of(v.isa), api_v, threads);
    });
  }
}

}  // namespace kcs::bench
