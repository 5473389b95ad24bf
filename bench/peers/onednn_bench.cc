// oneDNN (Debian libdnnl-dev) matmuls on the GEMM shapes of kcs's engines, measured the way
// bench/gemm_i8_bench.cc and bench/gemm_bf16_bench.cc measure ours, so that one results file
// answers "optimized vs oneDNN" (bench/report.py puts the ratio in the table).
//
// Names mirror ours with the implementation "onednn":
//   gemm_i8/packed:onednn/m:M/k:K/n:N/threads:T       s8 x s8 -> s32, K x N = 1536 x 8192
//   gemm_bf16/cold:onednn/<shape>/M:M/threads:T       bf16 x bf16 -> f32 or bf16 (wk, w_proj, w_dq, w_uk)
// Weights are prepacked once (oneDNN's preferred layout, `format_tag::any`) outside the timed loop
// and streamed from DRAM: every iteration uses another packed copy out of a pool of >= 96 MiB
// (3x L3). Counters use the same byte / op definitions as our benches, so frac_of_limit of a peer
// row and of our row are directly comparable (limits measured in this process).
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

struct Gemm {
  std::string name;
  memory::dims a, w, c;  // 2-D {M,K},{K,N},{M,N} or batched 3-D
  dt a_dt, w_dt, c_dt;
  Work work;
};

void bm_matmul(benchmark::State& st, Gemm g, int threads) {
  omp_set_num_threads(threads);
  dnnl::stream strm(engine());
  memory::desc a_md(g.a, g.a_dt, g.a.size() == 3 ? tag::abc : tag::ab);
  memory::desc w_any(g.w, g.w_dt, tag::any);
  memory::desc w_plain(g.w, g.w_dt, g.w.size() == 3 ? tag::abc : tag::ab);
  memory::desc c_md(g.c, g.c_dt, g.c.size() == 3 ? tag::abc : tag::ab);
  dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(a_md, w_any, c_md), engine());
  dnnl::matmul prim(pd);

  memory a(a_md, engine()), c(c_md, engine()), w0(w_plain, engine());
  fill_bytes(a, 1, g.a_dt == dt::bf16);
  fill_bytes(w0, 2, g.w_dt == dt::bf16);
  const size_t wbytes = pd.weights_desc().get_size();
  const size_t copies = std::max<size_t>(2, (kPoolBytes + wbytes - 1) / wbytes);
  std::vector<memory> pool;
  pool.reserve(copies);
  for (size_t i = 0; i < copies; ++i) {
    pool.emplace_back(pd.weights_desc(), engine());
    dnnl::reorder(w0, pool.back()).execute(strm, w0, pool.back());
  }
  strm.wait();

  size_t next = 0;
  double seconds = 0;
  for (auto _ : st) {
    const double t0 = now_seconds();
    prim.execute(strm, {{DNNL_ARG_SRC, a}, {DNNL_ARG_WEIGHTS, pool[next]}, {DNNL_ARG_DST, c}});
    strm.wait();
    seconds += now_seconds() - t0;
    next = (next + 1) % copies;
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

}  // namespace
}  // namespace kcs::bench

int main(int argc, char** argv) {
  using namespace kcs::bench;
  add_cpu_context();
  benchmark::AddCustomContext("peer", "oneDNN " + std::to_string(dnnl_version()->major) + "." +
                                          std::to_string(dnnl_version()->minor) + "." +
                                          std::to_string(dnnl_version()->patch));
  register_limits_benchmark({1, 2});
  for (const Gemm& g : gemms())
    for (int t : kThreads)
      benchmark::RegisterBenchmark((g.name + "/threads:" + std::to_string(t)).c_str(), bm_matmul, g, t)
          ->UseRealTime();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
