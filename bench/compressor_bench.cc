// K5 CSA / HCA compressor (spec §7) at DeepSeek V4 shapes: reference and every ISA variant side
// by side, 1 and 2 OpenMP threads, through the backend API (kcs::make_builtin_backend()->run(),
// validate_call included), default tiles (cols_per_cta 128, block_tile 16).
//   csa  M = 4,   C = 512 (NOPE 448, ROPE 64), C_I = 128, BF16 proj; n_blocks 1, 64, 1024
//        (decode: 1 block; prefill of 256 / 4096 tokens); epilogue model (+ fused at 64, 1024)
//   hca  M = 128, C = 512, BF16 proj; n_blocks 1, 16, 64 (prefill up to 8192 tokens), model
// cold: each iteration uses a different copy of the projection buffers out of a pool of at least
// 256 MiB (far larger than L3), so they stream from DRAM as the bandwidth limit assumes; the
// small tensors (ape, weights, table rows, Hadamard) stay cached as they would in a model.
// hot: one copy, cached between iterations where it fits (the compute side; frac_of_limit can
// exceed 1 there). The reference runs cold only.
// The copies are ordinary heap tensors (4 KiB pages unless the kernel backs them with THP), which
// can cost single-core bandwidth against the limit probe's huge-page buffer (bench/limits.h).
//
// Counters: bytes = the projection rows read (CSA: n_blocks·M rows of 4C + 4C_I elements, plus
// prev_b when used; HCA: n_blocks·M rows of 2C) + the BF16 outputs written. ops = window
// elements pooled (one exp each). frac_of_limit = (bytes / read bandwidth of this process) /
// achieved time: the target is >= 1/1.3 at n_blocks >= 64 with 2 threads.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "bench/limits.h"
#include "conformance/runner/catalog.h"
#include "fixtures/generators/generators.h"
#include "kcs/backend.h"
#include "kcs/cpu.h"
#include "kcs/decl.h"

namespace kcs::bench {
namespace {

constexpr int kThreads[] = {1, 2};
struct Shape {
  const char* name;
  bool csa;
  const char* epilogue;
  int64_t nb;
};

constexpr Shape kShapes[] = {
    {"csa", true, "model", 1},    {"csa", true, "model", 64},  {"csa", true, "model", 1024},
    {"csa", true, "fused", 64},   {"csa", true, "fused", 1024}, {"hca", false, "model", 1},
    {"hca", false, "model", 16},  {"hca", false, "model", 64},
};

Problem problem_of(const Shape& s) {
  const int64_t M = s.csa ? 4 : 128;
  Problem p;
  p.kernel = "compressor";
  p.dims = {{"n_blocks", s.nb}, {"N", s.nb * M}, {"M", M}, {"C", 512}, {"C_I", s.csa ? 128 : 0}, {"NOPE", 448},
            {"ROPE", 64}, {"G", s.csa ? 2 : 1}, {"MP", 0}, {"P", s.nb * M + M}};
  p.attrs = {{"variant", s.csa ? "csa" : "hca"}, {"epilogue", s.epilogue}};
  return complete_problem(kernel_or_throw("compressor"), p);
}

Work work_of(const Shape& s) {
  const int64_t M = s.csa ? 4 : 128, C = 512, CI = s.csa ? 128 : 0;
  Work w;
  const double rows = static_cast<double>(s.nb * M);
  w.bytes = rows * static_cast<double>(s.csa ? 4 * (C + CI) : 2 * C) * 2 + static_cast<double>(s.nb * (C + CI)) * 2;
  const double window = s.csa ? 2.0 * M : M;
  w.ops = static_cast<double>(s.nb) * window * static_cast<double>(C + CI);
  return w;
}

void bm(benchmark::State& st, Impl impl, Shape s, int threads, bool hot) {
  if (impl != Impl::reference) {
    const std::string missing = isa_missing(impl == Impl::avx512 ? Isa::avx512 : Isa::avx2);
    if (!missing.empty()) {
      st.SkipWithError(("skipped: " + missing).c_str());
      return;
    }
  }
  std::unique_ptr<Backend> backend = make_builtin_backend(impl_name(impl));
  const KernelDecl& decl = kernel_or_throw("compressor");
  Problem p = problem_of(s);
  CaseSpec cs;
  cs.id = "bench";
  cs.scenario = "random";
  cs.problem = p;
  TensorMap base;
  for (const auto& td : decl.tensors) base[td.name] = make_tensor(decl, p, td.name);
  Rng rng(7);
  find_generator("compressor")(cs, base, rng);
  const size_t per_copy = base.at("proj").nbytes() + base.at("proj_indexer").nbytes();
  const size_t copies = impl == Impl::reference || hot ? 1 : std::max<size_t>(2, (size_t{256} << 20) / per_copy + 1);
  std::vector<TensorMap> maps(copies, base);  // deep copies: each call streams its own proj
  std::vector<Invocation> invs(copies);
  for (size_t k = 0; k < copies; ++k) {
    invs[k].decl = &decl;
    invs[k].problem = &p;
    invs[k].tensors = &maps[k];
    invs[k].threads = threads;
  }
  if (Status first = backend->run(invs[0]); !first) {
    st.SkipWithError(("backend failed: " + first.message).c_str());
    return;
  }
  measure_limits(threads);
  Status last;
  size_t k = 0;
  const double t0 = now_seconds();
  for (auto _ : st) {
    last = backend->run(invs[k]);
    benchmark::ClobberMemory();
    if (++k == copies) k = 0;
  }
  const double secs = now_seconds() - t0;
  if (!last) st.SkipWithError(("backend failed: " + last.message).c_str());
  add_roofline_counters(st, work_of(s), threads, secs);
}

void register_all() {
  for (const Shape& s : kShapes)
    for (int threads : kThreads)
      for (Impl impl : {Impl::reference, Impl::avx512, Impl::avx2}) {
        if (impl == Impl::reference && threads != 1) continue;
        for (bool hot : {false, true}) {
          if (hot && impl == Impl::reference) continue;
          const std::string name = std::string("compressor/") + (hot ? "hot:" : "cold:") + impl_name(impl) + "/" +
                                   s.name + "_" + s.epilogue + "/n_blocks:" + std::to_string(s.nb) +
                                   "/threads:" + std::to_string(threads);
          benchmark::RegisterBenchmark(name.c_str(), bm, impl, s, threads, hot)
              ->UseRealTime()
              ->Unit(benchmark::kMicrosecond);
        }
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
