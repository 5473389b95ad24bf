// K3 V4 decode indexer (spec §5) at V4-Flash dims (bench_shapes.json "v4_indexer").
//
// Variants (names v4_indexer/<mode>:<impl>/B:b/cache_len:n/threads:t):
//   score:*  the score path alone (the issue's speed target): per token, Q8 of every cache row
//            j < cache_len, the int8 score GEMM against the token's H x Dh q codes, dequant,
//            ReLU, weighted head sum, top-k. opt::v4_score_rows_* over the adapter's work items
//            (32-row cache tiles split by opt::v4_score_spans) and opt::v4_topk_fast, for each
//            row of kV4IndexerVariants. Every iteration reads another copy of the BF16 cache out
//            of a 512 MiB pool, so the cache streams from DRAM.
//   api:*    the whole kernel through Backend::run() (bench/harness.h; q side included), on
//            one buffer set (the BF16 cache is larger than L3 from B·cache_len >= 64k rows).
// The reference runs through the backend only (api:reference), at B 1 and threads 1 (it takes
// seconds beyond that).
// Counters: score: bytes = B·cache_len·Dh·2 (cache read once); ops = 2·B·cache_len·H·Dh on the
// VNNI peak; the avx2 rows add frac_of_isa_peak, the same ops on AVX2's own exact int8 peak (AVX2
// has no exact 8-bit dot: vpmaddwd + vpaddd chains on int16, 16 products each, probed here). api adds the q side every call runs: int8 wq_b, BF16 weights_proj, Hadamard, x, qr
// bytes; int8 ops 2·B·Q_LORA·H·Dh (VNNI) and BF16 ops 2·B·D·H + 2·B·H·Dh² (BF16 peak).
#include <immintrin.h>
#include <omp.h>

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

constexpr int64_t kCacheTile = 32, kPoolElems = int64_t{256} << 20;  // 512 MiB of BF16

struct Dims3 {
  int64_t B, n, H, Dh, topk;
};

Work score_work(const Dims3& d) {
  Work w;
  w.bytes = static_cast<double>(d.B * d.n * d.Dh * 2);
  w.ops = 2.0 * static_cast<double>(d.B * d.n * d.H * d.Dh);
  w.peak = Peak::vnni;
  return w;
}

Work api_work(const Dims3& d, int64_t D, int64_t q_lora) {
  Work w = score_work(d);
  w.bytes += static_cast<double>(q_lora * d.H * d.Dh + D * d.H * 2 + d.Dh * d.Dh * 2 + d.B * (D + q_lora) * 2);
  w.ops += 2.0 * static_cast<double>(d.B * q_lora * d.H * d.Dh);
  w.ops2 = 2.0 * static_cast<double>(d.B * D * d.H + d.B * d.H * d.Dh * d.Dh);
  w.peak2 = Peak::bf16;
  return w;
}

// 12 independent acc += vpmaddwd(x, y) chains (the AVX2 score kernel's instruction pair).
__attribute__((target("avx2"), noinline)) double madd_chains(int64_t iters) {
  __m256i a[12];
  for (int i = 0; i < 12; ++i) a[i] = _mm256_set1_epi32(i);
  const __m256i x = _mm256_set1_epi32(0x00010001), y = _mm256_set1_epi32(0x00020002);
  for (int64_t k = 0; k < iters; ++k)
#pragma GCC unroll 12
    for (int i = 0; i < 12; ++i) a[i] = _mm256_add_epi32(a[i], _mm256_madd_epi16(x, y));
  __m256i s = a[0];
  for (int i = 1; i < 12; ++i) s = _mm256_add_epi32(s, a[i]);
  benchmark::DoNotOptimize(s);
  return 2.0 * 16 * 12 * static_cast<double>(iters);
}

// Best of 5 of the chains on every thread at once, in GOP/s (once per thread count).
double avx2_int8_peak(int threads) {
  static std::mutex mu;
  static std::map<int, double> cache;
  std::lock_guard<std::mutex> lock(mu);
  if (auto it = cache.find(threads); it != cache.end()) return it->second;
  constexpr int64_t kIters = 2000000;
  madd_chains(kIters / 10);
  double best = 0;
  for (int pass = 0; pass < 5; ++pass) {
    const double t0 = now_seconds();
#pragma omp parallel num_threads(threads)
    madd_chains(kIters);
    best = std::max(best, 2.0 * 16 * 12 * kIters * threads / (now_seconds() - t0) / 1e9);
  }
  return cache[threads] = best;
}

// One token's q side as the score path sees it: codes [H, Dh], scales, head weights (random),
// and the codes in the dword layouts of the AVX-512 and AVX2 score kernels.
struct QSide {
  std::vector<int8_t> qh;
  std::vector<float> s_qh, w;
  std::vector<int32_t> dw512, init512, dw256;
  QSide(int64_t H, int64_t Dh) : qh(H * Dh), s_qh(H), w(H), dw512(H * Dh / 4), init512(H), dw256(2 * H * Dh / 4) {
    Rng rng(5);
    for (auto& c : qh) c = static_cast<int8_t>(static_cast<int>(rng.below(255)) - 127);
    for (int64_t h = 0; h < H; ++h) {
      s_qh[h] = static_cast<float>(rng.uniform(0.005, 0.02));
      w[h] = static_cast<float>(rng.normal() * 0.011);
    }
    const int64_t Dq = Dh / 4;
    auto u8 = [](int8_t v) { return uint32_t{static_cast<uint8_t>(v)}; };
    auto pair = [](int32_t lo, int32_t hi) { return static_cast<int32_t>((static_cast<uint32_t>(lo) & 0xFFFFu) | (static_cast<uint32_t>(hi) << 16)); };
    for (int64_t h = 0; h < H; ++h) {
      const int8_t* c = qh.data() + h * Dh;
      int32_t sum = 0;
      for (int64_t d = 0; d < Dh; ++d) sum += c[d];
      init512[h] = -128 * sum;
      for (int64_t k = 0; k < Dq; ++k) {
        dw512[h * Dq + k] = static_cast<int32_t>(u8(c[4 * k]) | u8(c[4 * k + 1]) << 8 | u8(c[4 * k + 2]) << 16 | u8(c[4 * k + 3]) << 24);
        dw256[(2 * h) * Dq + k] = pair(c[4 * k], c[4 * k + 2]);
        dw256[(2 * h + 1) * Dq + k] = pair(c[4 * k + 1], c[4 * k + 3]);
      }
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
  a.Dh = d.Dh, a.H = d.H, a.Dq = d.Dh / 4;
  a.q8.floor = true;
  a.qh_dw = avx512 ? q.dw512.data() : q.dw256.data();
  a.qh_init = q.init512.data();
  a.s_qh = q.s_qh.data();
  a.w = q.w.data();
  const double isa_peak = avx512 ? 0 : avx2_int8_peak(threads);
  Work work = score_work(d);
  if (v.isa == Isa::amx) work.peak = Peak::amx_int8;  // the int8 products run on the tile unit
  const double secs = timed_loop(st, threads, copies_for(kPoolElems, per), [&](int64_t k) {
    const uint16_t* cache = pool + k * per;
    // The adapter's work items and their split over threads (optimized/v4_indexer.h).
    opt::v4_score_spans(B, n, kCacheTile, threads, [&](int64_t t, int64_t j0, int64_t j1) {
      opt::V4ScoreArgs ai = a;
      ai.cache = cache + t * n * d.Dh;
      ai.score = &score[t * n];
      v.score_rows(ai, j0, j1);
    });
#pragma omp parallel for num_threads(threads) schedule(static) if (B > 1)
    for (int64_t t = 0; t < B; ++t) opt::v4_topk_fast(&score[t * n], n, d.topk, 128, &idx[t * n], n);
    benchmark::DoNotOptimize(idx.data());
  });
  add_roofline_counters(st, work, threads, secs);
  if (isa_peak > 0 && st.iterations() > 0)
    st.counters["frac_of_isa_peak"] = work.ops / (secs / static_cast<double>(st.iterations())) / (isa_peak * 1e9);
}

}  // namespace

void register_benchmarks() {
  for (const Shape& s : shapes("v4_indexer")) {
    const Dims3 d{s.i("B"), s.i("cache_len"), s.i("H"), s.i("Dh"), s.i("TOPK")};
    kcs::Dims pd = s.dims({"B", "D", "Q_LORA", "H", "Dh", "R", "TOPK"});
    pd["S"] = 1;
    pd["SCORE_LEN"] = d.n;
    const ApiBench api{make_problem("v4_indexer", pd, {{"start_pos", std::to_string(4 * d.n - 1)}, {"offset", "128"}}),
                       api_work(d, s.i("D"), s.i("Q_LORA"))};
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
