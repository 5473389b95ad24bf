// oneDNN (Debian libdnnl-dev) matmuls on the GEMM shapes of kcs's engines and on the GEMMs that
// kcs's fused kernels contain, measured the way kcs's benches measure ours, so that one results
// file answers "optimized vs oneDNN" (bench/report.py puts the ratio in the table).
//
// GEMM engines: names mirror ours with the implementation "onednn":
//   gemm_i8/packed:onednn/m:M/k:K/n:N/threads:T       s8 x s8 -> s32, K x N = 1536 x 8192
//   gemm_bf16/cold:onednn/<shape>/M:M/threads:T       bf16 x bf16 -> f32 or bf16 (wk, w_proj, w_dq, w_uk)
//
// Fused kernels: one row per GEMM the kernel contains, at every shape its bench runs:
//   <family>/gemm:onednn/<gemm>/<shape of the kcs row>/threads:T
// e.g. indexer_prolog/gemm:onednn/q_b/t:16/threads:2 next to indexer_prolog/avx512/t:16/threads:2.
// bench/report.py sums the <gemm> rows of one (family, shape, threads) into "oneDNN GEMMs (sum)";
// its FUSED table lists the GEMM names each family's sum must contain (keep the two in step).
//   indexer_prolog (K1, spec §3), t in {1, 4, 16, 128, 1024}:
//     q_b         s8 [t, 1536] x [1536, 8192] -> s32             (step 1)
//     wk          bf16 [t, 7168] x [7168, 128] -> f32            (step 6, kf kept in FP32)
//     w_proj      bf16 [t, 7168] x [7168, 64] -> bf16            (step 12)
//     hadamard_q  bf16 [64·t, 128] x [128, 128] -> bf16          (step 4, every head)
//     hadamard_k  bf16 [t, 128] x [128, 128] -> bf16             (step 9)
//   mla_prolog (K2, spec §4, quant mode), n1 in {128, 64}, t in {1, 4, 16, 128, 1024}:
//     w_dq        bf16 [t, 7168] x [7168, 1536] -> bf16          (step 1)
//     w_uq_qr     s8 [t, 1536] x [1536, n1·192] -> s32           (step 4)
//     w_uk        bf16 batched n1 x ([t, 128] x [128, 512]) -> bf16 (step 5, per head)
//     w_dkv_kr    bf16 [t, 7168] x [7168, 576] -> bf16           (step 7)
//   v4_indexer (K3, spec §5, the score path of its score:* rows), B in {1, 8, 32},
//   cache_len n in {512, 4096, 16384}:
//     score       s8 batched B x ([n, 128] x [128, 64]) -> s32   (step 10: cache rows x q codes)
// nvfp4_stage (K4, a quantizer) and compressor (K5: its D x C projections run outside the
// kernel, spec §7.1) contain no GEMM and have no rows here.
//
// Streaming: the operand a serving engine reads from DRAM rotates over copies totalling >= 96 MiB
// (3x L3), every iteration on the next copy: weights (prepacked once in oneDNN's preferred layout,
// `format_tag::any`, outside the timed loop) for the engine rows and the projections; the int8
// cache rows (plain row-major: they are written per token) for K3's score GEMM, whose q codes
// (prepacked, 16 KiB) stay in cache as kcs's do. The constant 128 x 128 Hadamard matrices stay in
// cache, as in kcs's K1 bench. Counters use the same byte / op definitions (bytes = operands +
// output once, ops = 2·M·K·N) against the peak of the GEMM's type, so frac_of_limit of a peer row
// and of ours are comparable (limits measured in this process). Big GEMMs run a fixed number of
// iterations (Iterations) and the rest 0.2 s (MinTime), so the whole program stays a few minutes.
// oneDNN threads with OpenMP (Debian's build is DNNL_RUNTIME_OMP): omp_set_num_threads(T).
#include <benchmark/benchmark.h>
#include <omp.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include <oneapi/dnnl/dnnl.hpp>

#include "bench/limits.h"

namespace kcs::bench {
namespace {

using dnnl::memory;
using dt = memory::data_type;
using tag = memory::format_tag;

constexpr int kThreads[] = {1, 2};
constexpr size_t kPoolBytes = size_t{96} << 20;

dnnl::engine& engine() {
  static dnnl::engine e(dnnl::engine::kind::cpu, 0);
  return e;
}

void fill_bytes(memory& m, uint64_t seed, bool bf16) {
  auto* p = static_cast<uint8_t*>(m.get_data_handle());
  const size_t n = m.get_desc().get_size();
  uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;
  for (size_t i = 0; i < n; ++i) {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    p[i] = static_cast<uint8_t>(s >> 56);
  }
  // Keep BF16 data finite and moderate: exponent bytes (odd offsets) in [0x3c, 0x3f].
  if (bf16)
    for (size_t i = 1; i < n; i += 2) p[i] = static_cast<uint8_t>(0x3c | (p[i] & 0x83));
}

// Which operand streams from DRAM (rotates over the >= 96 MiB pool); the others stay in cache.
enum class Stream { weights, src, none };

struct Gemm {
  std::string name;
  memory::dims a, w, c;  // 2-D {M,K},{K,N},{M,N} or batched 3-D
  dt a_dt, w_dt, c_dt;
  Work work;
  Stream stream = Stream::weights;
  int64_t iterations = 0;  // > 0: fixed iteration count (big GEMMs)
  double min_time = 0;     // > 0: Google Benchmark's MinTime
};

size_t pool_copies(size_t bytes) { return std::max<size_t>(2, (kPoolBytes + bytes - 1) / bytes); }

void bm_matmul(benchmark::State& st, Gemm g, int threads) {
  omp_set_num_threads(threads);
  dnnl::stream strm(engine());
  memory::desc a_md(g.a, g.a_dt, g.a.size() == 3 ? tag::abc : tag::ab);
  memory::desc w_any(g.w, g.w_dt, tag::any);
  memory::desc w_plain(g.w, g.w_dt, g.w.size() == 3 ? tag::abc : tag::ab);
  memory::desc c_md(g.c, g.c_dt, g.c.size() == 3 ? tag::abc : tag::ab);
  dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(a_md, w_any, c_md), engine());
  dnnl::matmul prim(pd);

  memory c(c_md, engine()), w0(w_plain, engine());
  fill_bytes(w0, 2, g.w_dt == dt::bf16);
  const size_t wcopies = g.stream == Stream::weights ? pool_copies(pd.weights_desc().get_size()) : 1;
  std::vector<memory> wpool;
  wpool.reserve(wcopies);
  for (size_t i = 0; i < wcopies; ++i) {
    wpool.emplace_back(pd.weights_desc(), engine());
    dnnl::reorder(w0, wpool.back()).execute(strm, w0, wpool.back());
  }
  const size_t acopies = g.stream == Stream::src ? pool_copies(a_md.get_size()) : 1;
  std::vector<memory> apool;
  apool.reserve(acopies);
  for (size_t i = 0; i < acopies; ++i) {
    apool.emplace_back(a_md, engine());
    if (i == 0)
      fill_bytes(apool[0], 1, g.a_dt == dt::bf16);
    else
      std::memcpy(apool[i].get_data_handle(), apool[0].get_data_handle(), a_md.get_size());
  }
  strm.wait();
  auto run = [&](size_t ia, size_t iw) {
    prim.execute(strm, {{DNNL_ARG_SRC, apool[ia]}, {DNNL_ARG_WEIGHTS, wpool[iw]}, {DNNL_ARG_DST, c}});
    strm.wait();
  };
  run(0, 0);  // first execution: scratchpad and thread-pool start-up stay out of the timing

  size_t na = 1 % acopies, nw = 1 % wcopies;
  double seconds = 0;
  for (auto _ : st) {
    const double t0 = now_seconds();
    run(na, nw);
    seconds += now_seconds() - t0;
    na = (na + 1) % acopies;
    nw = (nw + 1) % wcopies;
    benchmark::DoNotOptimize(c.get_data_handle());
  }
  add_roofline_counters(st, g.work, threads, seconds);
}

std::vector<Gemm> gemms() {
  std::vector<Gemm> out;
  for (int64_t m : {1, 16, 1024}) {
    const int64_t k = 1536, n = 8192;
    Work w;  // as bench/gemm_i8_bench.cc: W + A + acc (4 B) + y (2 B) + scales
    w.bytes = static_cast<double>(k * n + m * k + m * n * 6 + (m + n) * 4);
    w.ops = 2.0 * static_cast<double>(m * k * n);
    w.peak = Peak::vnni;
    out.push_back({"gemm_i8/packed:onednn/m:" + std::to_string(m) + "/k:1536/n:8192", {m, k}, {k, n}, {m, n},
                   dt::s8, dt::s8, dt::s32, w});
  }
  struct S {
    const char* name;
    int64_t b, k, n;
    dt out;
  };
  // As bench/gemm_bf16_bench.cc's kShapes.
  for (const S& s : {S{"wk", 1, 7168, 128, dt::f32}, S{"w_proj", 1, 7168, 64, dt::bf16},
                     S{"w_dq", 1, 7168, 1536, dt::bf16}, S{"w_uk", 64, 128, 512, dt::bf16}}) {
    for (int64_t m : {1, 16, 128, 1024}) {
      const double osz = s.out == dt::f32 ? 4 : 2;
      Work w;
      w.bytes = 2.0 * s.b * s.k * s.n + 2.0 * s.b * m * s.k + osz * s.b * m * s.n;
      w.ops = 2.0 * s.b * m * s.k * s.n;
      w.peak = Peak::bf16;
      Gemm g{std::string("gemm_bf16/cold:onednn/") + s.name + "/M:" + std::to_string(m), {}, {}, {},
             dt::bf16, dt::bf16, s.out, w};
      if (s.b == 1) {
        g.a = {m, s.k};
        g.w = {s.k, s.n};
        g.c = {m, s.n};
      } else {
        g.a = {s.b, m, s.k};
        g.w = {s.b, s.k, s.n};
        g.c = {s.b, m, s.n};
      }
      out.push_back(g);
    }
  }
  return out;
}

// One GEMM of a fused kernel: b x ([m, k] x [k, n]) (b = 1: a plain 2-D matmul).
Gemm fused_gemm(const std::string& family, const std::string& gemm, const std::string& shape, int64_t b, int64_t m,
                int64_t k, int64_t n, dt in, dt out, Stream stream = Stream::weights) {
  const double isz = in == dt::s8 ? 1 : 2, osz = out == dt::bf16 ? 2 : 4;
  Gemm g{family + "/gemm:onednn/" + gemm + "/" + shape, {}, {}, {}, in, in, out, {}, stream};
  if (b == 1) {
    g.a = {m, k};
    g.w = {k, n};
    g.c = {m, n};
  } else {
    g.a = {b, m, k};
    g.w = {b, k, n};
    g.c = {b, m, n};
  }
  const double B = static_cast<double>(b), M = static_cast<double>(m), K = static_cast<double>(k),
               N = static_cast<double>(n);
  g.work.bytes = B * (isz * (M * K + K * N) + osz * M * N);
  g.work.ops = 2.0 * B * M * K * N;
  g.work.peak = in == dt::s8 ? Peak::vnni : Peak::bf16;
  // Seconds per row at most, not minutes: ~0.1-0.5 s per iteration from 1e10 ops on this VM.
  if (g.work.ops >= 1e10)
    g.iterations = 3;
  else if (g.work.ops >= 1e9)
    g.iterations = 10;
  else
    g.min_time = 0.2;
  return g;
}

// The GEMMs of kcs's fused kernels at the shapes of their benches (the table at the top).
std::vector<Gemm> fused_gemms() {
  std::vector<Gemm> out;
  for (int64_t t : {1, 4, 16, 128, 1024}) {  // bench/indexer_prolog_bench.cc
    const std::string s = "t:" + std::to_string(t);
    const char* f = "indexer_prolog";
    out.push_back(fused_gemm(f, "q_b", s, 1, t, 1536, 64 * 128, dt::s8, dt::s32));
    out.push_back(fused_gemm(f, "wk", s, 1, t, 7168, 128, dt::bf16, dt::f32));
    out.push_back(fused_gemm(f, "w_proj", s, 1, t, 7168, 64, dt::bf16, dt::bf16));
    out.push_back(fused_gemm(f, "hadamard_q", s, 1, 64 * t, 128, 128, dt::bf16, dt::bf16, Stream::none));
    out.push_back(fused_gemm(f, "hadamard_k", s, 1, t, 128, 128, dt::bf16, dt::bf16, Stream::none));
  }
  for (int64_t n1 : {128, 64})  // bench/mla_prolog_bench.cc (quant mode)
    for (int64_t t : {1, 4, 16, 128, 1024}) {
      const std::string s = "n1:" + std::to_string(n1) + "/t:" + std::to_string(t);
      const char* f = "mla_prolog";
      out.push_back(fused_gemm(f, "w_dq", s, 1, t, 7168, 1536, dt::bf16, dt::bf16));
      out.push_back(fused_gemm(f, "w_uq_qr", s, 1, t, 1536, n1 * 192, dt::s8, dt::s32));
      out.push_back(fused_gemm(f, "w_uk", s, n1, t, 128, 512, dt::bf16, dt::bf16));
      out.push_back(fused_gemm(f, "w_dkv_kr", s, 1, t, 7168, 576, dt::bf16, dt::bf16));
    }
  for (int64_t n : {512, 4096, 16384})  // bench/v4_indexer_bench.cc (score rows)
    for (int64_t b : {1, 8, 32})
      out.push_back(fused_gemm("v4_indexer", "score", "B:" + std::to_string(b) + "/cache_len:" + std::to_string(n), b,
                               n, 128, 64, dt::s8, dt::s32, Stream::src));
  return out;
}

}  // namespace
}  // namespace kcs::bench

int main(int argc, char** argv) {
  using namespace kcs::bench;
  add_cpu_context();
  benchmark::AddCustomContext("peer", "oneDNN " + std::to_string(dnnl_version()->major) + "." +
                                          std::to_string(dnnl_version()->minor) + "." +
                                          std::to_string(dnnl_version()->patch));
  register_limits_benchmark({1, 2});
  std::vector<Gemm> all = gemms();
  for (Gemm& g : fused_gemms()) all.push_back(std::move(g));
  for (const Gemm& g : all)
    for (int t : kThreads) {
      auto* b = benchmark::RegisterBenchmark((g.name + "/threads:" + std::to_string(t)).c_str(), bm_matmul, g, t)
                    ->UseRealTime();
      if (g.iterations > 0) b->Iterations(g.iterations);
      if (g.min_time > 0) b->MinTime(g.min_time);
    }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
