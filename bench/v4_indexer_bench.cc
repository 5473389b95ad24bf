// K3 V4 decode indexer (spec §5) at V4-Flash dims (H 64, Dh 128; D 4096, Q_LORA 1024, TOPK 512).
//
// Variants (names v4_indexer/<mode>:<impl>/B:b/cache_len:n/threads:t):
//   score:*  the score path alone, the part the issue's speed target is about: per token, Q8 of
//            every cache row j < cache_len, the int8 score GEMM against the token's 64 x 128 q
//            codes, dequant, ReLU, weighted head sum, then the top-k. opt::v4_score_rows_* over
//            the adapter's work items (32-row cache tiles, split over threads by
//            opt::v4_score_spans as in the adapter) and opt::v4_topk_fast; the reference runs
//            the primitive references (q8_row_reference, gemm_i8_reference, binary64 head sum,
//            v4_topk_reference). Every iteration reads a different copy of the BF16 cache
//            out of a 512 MiB pool (many times L3), so the cache streams from DRAM.
//   api:*    the whole kernel through make_builtin_backend(impl)->run() (q side included), on
//            one buffer set (the BF16 cache is larger than L3 from B·cache_len >= 64k rows).
// The reference runs at B 1 and threads 1 only (it takes seconds beyond that).
//
// Counters: score rows: bytes = the BF16 cache rows read once (B·cache_len·Dh·2); ops =
// 2·B·cache_len·H·Dh (int8 multiply + add of the score GEMM) against the VNNI peak. api rows add
// the q side, which every call runs: the int8 wq_b (Q_LORA x H·Dh = 8 MiB) and BF16 weights_proj
// and Hadamard bytes, x and qr; int8 ops 2·B·Q_LORA·H·Dh (q GEMM) on the VNNI peak and BF16 ops
// 2·B·D·H + 2·B·H·Dh² (weights_proj, Hadamard) on the BF16 peak. frac_of_limit = max(bytes /
// read bandwidth, compute time at those peaks) / time, limits measured in this process.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "bench/limits.h"
#include "fixtures/generators/generators.h"
#include "kcs/backend.h"
#include "kcs/cpu.h"
#include "kcs/decl.h"
#include "kcs/formats.h"
#include "kcs/kernels/gemm_i8.h"
#include "kcs/kernels/q8.h"
#include "kcs/kernels/v4_indexer.h"
#include "optimized/v4_indexer.h"
#include "reference/primitives.h"

namespace kcs::bench {
namespace {

constexpr int64_t kH = 64, kDh = 128, kTopk = 512, kCacheTile = 32;
constexpr int64_t kBatches[] = {1, 8, 32};
constexpr int64_t kLens[] = {512, 4096, 16384};
constexpr int kThreads[] = {1, 2};

Work score_work(int64_t B, int64_t n) {
  Work w;
  w.bytes = static_cast<double>(B * n * kDh * 2);
  w.ops = 2.0 * static_cast<double>(B * n * kH * kDh);
  w.peak = Peak::vnni;
  return w;
}

constexpr int64_t kD = 4096, kQLora = 1024;

Work api_work(int64_t B, int64_t n) {
  Work w = score_work(B, n);
  w.bytes += static_cast<double>(kQLora * kH * kDh + kD * kH * 2 + kDh * kDh * 2 + B * (kD + kQLora) * 2);
  w.ops += 2.0 * static_cast<double>(B * kQLora * kH * kDh);
  w.ops2 = 2.0 * static_cast<double>(B * kD * kH + B * kH * kDh * kDh);
  w.peak2 = Peak::bf16;
  return w;
}

// BF16 cache rows ~ N(0,1)-like (xorshift, exponents 2^-3 .. 2^2): values do not change the speed.
struct Pool {
  static constexpr int64_t kElems = int64_t{256} << 20;  // 512 MiB of BF16
  uint16_t* x = nullptr;
};
const Pool& pool() {
  static const Pool p = [] {
    Pool q;
    q.x = static_cast<uint16_t*>(alloc_stream_buffer(Pool::kElems * 2));
    uint64_t s = 0x9E3779B97F4A7C15ull;
    for (int64_t i = 0; i < Pool::kElems; ++i) {
      s ^= s << 13;
      s ^= s >> 7;
      s ^= s << 17;
      const uint32_t r = static_cast<uint32_t>(s >> 32);
      q.x[i] = static_cast<uint16_t>(((r & 1u) << 15) | ((124u + (r >> 8) % 6u) << 7) | ((r >> 1) & 0x7Fu));
    }
    return q;
  }();
  return p;
}

// One token's q side as the score path sees it: codes, scales, head weights (fixed, random).
struct QSide {
  std::vector<int8_t> qh;  // [H, Dh]
  std::vector<float> s_qh, w;
  std::vector<int32_t> dw512, init512, dw256;
};
QSide make_qside() {
  QSide q;
  Rng rng(5);
  q.qh.resize(kH * kDh);
  q.s_qh.resize(kH);
  q.w.resize(kH);
  for (auto& c : q.qh) c = static_cast<int8_t>(static_cast<int>(rng.below(255)) - 127);
  for (int64_t h = 0; h < kH; ++h) {
    q.s_qh[h] = static_cast<float>(rng.uniform(0.005, 0.02));
    q.w[h] = static_cast<float>(rng.normal() * 0.011);
  }
  const int64_t Dq = kDh / 4;
  q.dw512.resize(kH * Dq);
  q.init512.resize(kH);
  q.dw256.resize(2 * kH * Dq);
  for (int64_t h = 0; h < kH; ++h) {
    int32_t sum = 0;
    for (int64_t d = 0; d < kDh; ++d) sum += q.qh[h * kDh + d];
    q.init512[h] = -128 * sum;
    const int8_t* c = q.qh.data() + h * kDh;
    for (int64_t k = 0; k < Dq; ++k) {
      uint32_t v = 0;
      for (int b = 0; b < 4; ++b) v |= uint32_t{static_cast<uint8_t>(c[4 * k + b])} << (8 * b);
      q.dw512[h * Dq + k] = static_cast<int32_t>(v);
      auto pair = [](int32_t lo, int32_t hi) {
        return static_cast<int32_t>((static_cast<uint32_t>(lo) & 0xFFFFu) | (static_cast<uint32_t>(hi) << 16));
      };
      q.dw256[(2 * h) * Dq + k] = pair(c[4 * k], c[4 * k + 2]);
      q.dw256[(2 * h + 1) * Dq + k] = pair(c[4 * k + 1], c[4 * k + 3]);
    }
  }
  return q;
}

void score_reference(const uint16_t* cache, int64_t n, const QSide& q, float* score, int32_t* idx) {
  Q8Params p;
  p.floor = true;
  std::vector<float> row(kDh), s_kv(static_cast<size_t>(n)), lg(static_cast<size_t>(n * kH));
  std::vector<int8_t> kv(static_cast<size_t>(n * kDh)), qt(kDh * kH);
  for (int64_t j = 0; j < n; ++j) {
    for (int64_t d = 0; d < kDh; ++d) row[d] = bf16_to_float(cache[j * kDh + d]);
    s_kv[j] = q8_row_reference(row.data(), kDh, p, kv.data() + j * kDh);
  }
  for (int64_t d = 0; d < kDh; ++d)
    for (int64_t h = 0; h < kH; ++h) qt[d * kH + h] = q.qh[h * kDh + d];
  GemmI8Args g;
  g.m = n, g.k = kDh, g.n = kH;
  g.a = kv.data(), g.lda = kDh, g.w = qt.data(), g.ldw = kH;
  g.s_row = s_kv.data(), g.s_col = q.s_qh.data();
  g.y = lg.data(), g.ldy = kH, g.y_dtype = DType::fp32;
  gemm_i8_reference(g, 0, n, 0, kH);
  for (int64_t j = 0; j < n; ++j) {
    double s = 0;
    for (int64_t h = 0; h < kH; ++h) {
      const float l = lg[j * kH + h];
      s += static_cast<double>(std::max(l, l * 0.0f)) * q.w[h];
    }
    score[j] = static_cast<float>(s);
  }
  v4_topk_reference(score, n, kTopk, 128, idx, n);
}

void bm_score(benchmark::State& st, Impl impl, int64_t B, int64_t n, int threads) {
  if (const std::string why = skip_reason(impl); !why.empty()) {
    st.SkipWithError(why.c_str());
    return;
  }
  const Pool& pl = pool();
  static const QSide q = make_qside();
  const int64_t per = B * n * kDh, copies = std::max<int64_t>(1, Pool::kElems / per);
  std::vector<float> score(static_cast<size_t>(B * n));
  std::vector<int32_t> idx(static_cast<size_t>(B * n));
  const bool avx512 = impl == Impl::avx512;
  opt::V4ScoreArgs a;
  a.Dh = kDh, a.H = kH, a.Dq = kDh / 4;
  a.q8.floor = true;
  a.qh_dw = avx512 ? q.dw512.data() : q.dw256.data();
  a.qh_init = q.init512.data();
  a.s_qh = q.s_qh.data();
  a.w = q.w.data();
  auto fn = avx512 ? &opt::v4_score_rows_avx512 : &opt::v4_score_rows_avx2;
  measure_limits(threads);
  int64_t k = 0;
  const double t0 = now_seconds();
  for (auto _ : st) {
    const uint16_t* cache = pl.x + k * per;
    if (impl == Impl::reference) {
      for (int64_t t = 0; t < B; ++t) score_reference(cache + t * n * kDh, n, q, &score[t * n], &idx[t * n]);
    } else {
      // The adapter's work items and their split over threads (optimized/v4_indexer.h).
      opt::v4_score_spans(B, n, kCacheTile, threads, [&](int64_t t, int64_t j0, int64_t j1) {
        opt::V4ScoreArgs ai = a;
        ai.cache = cache + t * n * kDh;
        ai.score = &score[t * n];
        fn(ai, j0, j1);
      });
#pragma omp parallel for num_threads(threads) schedule(static) if (B > 1)
      for (int64_t t = 0; t < B; ++t) opt::v4_topk_fast(&score[t * n], n, kTopk, 128, &idx[t * n], n);
    }
    benchmark::DoNotOptimize(idx.data());
    benchmark::ClobberMemory();
    if (++k == copies) k = 0;
  }
  add_roofline_counters(st, score_work(B, n), threads, now_seconds() - t0);
}

void bm_api(benchmark::State& st, Impl impl, int64_t B, int64_t n, int threads) {
  if (const std::string why = skip_reason(impl); !why.empty()) {
    st.SkipWithError(why.c_str());
    return;
  }
  std::unique_ptr<Backend> backend = make_builtin_backend(impl_name(impl));
  const KernelDecl& decl = kernel_or_throw("v4_indexer");
  Problem p;
  p.kernel = "v4_indexer";
  p.dims = {{"B", B}, {"S", 1}, {"D", kD}, {"Q_LORA", kQLora}, {"H", kH}, {"Dh", kDh}, {"R", 64},
            {"SCORE_LEN", n}, {"TOPK", kTopk}};
  p.attrs = {{"start_pos", std::to_string(4 * n - 1)}, {"offset", "128"}};
  p = complete_problem(decl, p);
  TensorMap tensors;
  for (const auto& td : decl.tensors) tensors[td.name] = make_tensor(decl, p, td.name);
  CaseSpec cs;
  cs.problem = p;
  Rng rng(9);
  generate_v4_indexer(cs, tensors, rng);
  Invocation inv;
  inv.decl = &decl;
  inv.problem = &p;
  inv.tensors = &tensors;
  inv.threads = threads;
  if (Status first = backend->run(inv); !first) {
    st.SkipWithError(("backend failed: " + first.message).c_str());
    return;
  }
  measure_limits(threads);
  const double t0 = now_seconds();
  for (auto _ : st) {
    backend->run(inv);
    benchmark::ClobberMemory();
  }
  add_roofline_counters(st, api_work(B, n), threads, now_seconds() - t0);
}

std::string name(const char* mode, Impl impl, int64_t B, int64_t n, int threads) {
  return std::string("v4_indexer/") + mode + ":" + impl_name(impl) + "/B:" + std::to_string(B) +
         "/cache_len:" + std::to_string(n) + "/threads:" + std::to_string(threads);
}

void register_all() {
  for (int64_t n : kLens)
    for (int64_t B : kBatches)
      for (int threads : kThreads)
        for (Impl impl : {Impl::reference, Impl::avx512, Impl::avx2}) {
          if (impl == Impl::reference && (threads != 1 || B != 1)) continue;
          benchmark::RegisterBenchmark(name("score", impl, B, n, threads).c_str(), bm_score, impl, B, n, threads)
              ->UseRealTime()
              ->Unit(benchmark::kMicrosecond);
          benchmark::RegisterBenchmark(name("api", impl, B, n, threads).c_str(), bm_api, impl, B, n, threads)
              ->UseRealTime()
              ->Unit(benchmark::kMicrosecond);
        }
}

}  // namespace
}  // namespace kcs::bench

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  kcs::bench::add_cpu_context();
  kcs::bench::register_limits_benchmark({1, 2});
  kcs::bench::register_all();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
