// Same-run machine limits (see limits.h). Built for the baseline CPU: the ISA probes live in
// limits_avx512.cc / limits_avx2.cc / limits_avxvnni.cc and are picked by kcs::cpu_features().
#include "bench/limits.h"

#include <omp.h>
#include <sys/mman.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "bench/limits_probes.h"
#include "kcs/cpu.h"

namespace kcs::bench {

namespace {

constexpr size_t kReadBytes = size_t{512} << 20;  // 16x a 32 MiB L3: every pass streams DRAM
constexpr int kReadPasses = 5;  // per probe, best kept: the VM is shared, the best pass is the least disturbed
constexpr int kComputePasses = 5;
// About 10 ms per compute pass at current clocks: long against the OpenMP fork/join and timer,
// short enough that the probes cost well under a second.
constexpr int64_t kComputeIters = 2'500'000;

thread_local volatile uint64_t g_sink;  // keeps the read probe alive; per thread, no race

// Wall time of f(thread, nthreads) run by `threads` OpenMP threads that start together.
template <class F>
double timed_parallel(int threads, F&& f) {
  double t0 = 0, t1 = 0;
#pragma omp parallel num_threads(threads)
  {
#pragma omp barrier
#pragma omp master
    t0 = now_seconds();
#pragma omp barrier
    f(omp_get_thread_num(), omp_get_num_threads());
#pragma omp barrier
#pragma omp master
    t1 = now_seconds();
  }
  return t1 - t0;
}

uint64_t read_sum_baseline(const void* p, size_t bytes) {
  const uint64_t* v = static_cast<const uint64_t*>(p);
  uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  for (size_t i = 0; i < bytes / 8; i += 4) {
    s0 += v[i];
    s1 += v[i + 1];
    s2 += v[i + 2];
    s3 += v[i + 3];
  }
  return s0 + s1 + s2 + s3;
}

double measure_read_gbs(int threads) {
  const CpuFeatures& f = cpu_features();
  // Every available probe, best result kept: on Zen 4 (512-bit ops split in two) the ymm loop
  // streams ~10% faster than the zmm one; on other cores it can be the other way round.
  std::vector<uint64_t (*)(const void*, size_t)> sums = {&read_sum_baseline};
  if (f.avx2) sums.push_back(&probe::read_sum_avx2);
  if (f.avx512f) sums.push_back(&probe::read_sum_avx512);

  void* buf = alloc_stream_buffer(kReadBytes);
  if (buf == nullptr) return 0;
  // Each thread's chunk is a multiple of 512 bytes (the probes' unroll).
  const size_t chunk = kReadBytes / static_cast<size_t>(threads) / 512 * 512;
  // First touch by the thread that reads the chunk later (NUMA placement), with nonzero data.
  timed_parallel(threads, [&](int t, int) {
    std::memset(static_cast<char*>(buf) + static_cast<size_t>(t) * chunk, 1, chunk);
  });
  double best = 0;
  for (auto sum : sums) {
    for (int pass = 0; pass < kReadPasses; ++pass) {
      const double s = timed_parallel(threads, [&](int t, int) {
        g_sink = sum(static_cast<const char*>(buf) + static_cast<size_t>(t) * chunk, chunk);
      });
      best = std::max(best, static_cast<double>(chunk) * threads / s / 1e9);
    }
  }
  std::free(buf);
  return best;
}

// Best rate (ops / s / 1e9) of `probe` run on every thread at once; 0 when no probe.
double measure_peak(int threads, double (*probe)(int64_t)) {
  if (probe == nullptr) return 0;
  probe(kComputeIters / 10);  // warm-up: clocks and the 512-bit units ramp up
  double best = 0;
  for (int pass = 0; pass < kComputePasses; ++pass) {
    double ops[256] = {};
    const double s = timed_parallel(threads, [&](int t, int) { ops[t & 255] = probe(kComputeIters); });
    double total = 0;
    for (int t = 0; t < threads && t < 256; ++t) total += ops[t];
    best = std::max(best, total / s / 1e9);
  }
  return best;
}

Limits measure(int threads) {
  const CpuFeatures& f = cpu_features();
  Limits l{};
  l.threads = threads;
  l.read_gbs = measure_read_gbs(threads);
  double (*fma)(int64_t) = nullptr;
  if (f.avx512f)
    fma = &probe::fma_zmm;
  else if (f.avx2 && f.fma)
    fma = &probe::fma_ymm;
  l.fma_gflops = measure_peak(threads, fma);
  double (*vnni)(int64_t) = nullptr;
  // The zmm forms need AVX-512F too (KCS_DISABLE_FEATURES=avx512f hides only that flag).
  if (f.avx512f && f.avx512_vnni)
    vnni = &probe::vnni_zmm;
  else if (f.avx2 && f.avx_vnni)
    vnni = &probe::vnni_ymm;
  l.vnni_gops = measure_peak(threads, vnni);
  l.bf16_gflops = measure_peak(threads, f.avx512f && f.avx512_bf16 ? &probe::bf16_zmm : nullptr);
  l.amx_int8_gops = measure_peak(threads, isa_missing(Isa::amx).empty() ? &probe::amx_int8 : nullptr);
  return l;
}

}  // namespace

// 2 MiB-aligned and advised to transparent huge pages: with 4 KiB pages the hardware prefetchers
// stop at every page boundary and the TLB misses, which on the project's Zen 4 VM cuts
// single-core streaming from ~28 to ~17 GB/s.
void* alloc_stream_buffer(size_t bytes) {
  constexpr size_t kHuge = size_t{2} << 20;
  const size_t rounded = (bytes + kHuge - 1) / kHuge * kHuge;
  void* p = std::aligned_alloc(kHuge, rounded);
#ifdef MADV_HUGEPAGE
  if (p != nullptr) madvise(p, rounded, MADV_HUGEPAGE);  // advice only: failure is harmless
#endif
  return p;
}

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

const char* impl_name(Impl i) {
  switch (i) {
    case Impl::reference: return "reference";
    case Impl::avx512: return "avx512";
    case Impl::avx2: return "avx2";
    case Impl::amx: return "amx";
  }
  return "?";
}

std::string skip_reason(Impl impl) {
  if (impl == Impl::reference) return "";
  const std::string missing =
      isa_missing(impl == Impl::amx ? Isa::amx : impl == Impl::avx512 ? Isa::avx512 : Isa::avx2);
  return missing.empty() ? "" : "skipped: " + missing;
}

const Limits& measure_limits(int threads) {
  static std::mutex mu;
  static std::map<int, Limits> cache;  // node-based: references stay valid
  std::lock_guard<std::mutex> lock(mu);
  auto it = cache.find(threads);
  if (it == cache.end()) it = cache.emplace(threads, measure(threads < 1 ? 1 : threads)).first;
  return it->second;
}

void add_roofline_counters(benchmark::State& st, const Work& w, int threads, double loop_seconds) {
  const double iters = static_cast<double>(st.iterations());
  if (iters <= 0 || loop_seconds <= 0) return;
  const Limits& l = measure_limits(threads);
  const double t = loop_seconds / iters;  // seconds per iteration
  double limit = l.read_gbs > 0 ? w.bytes / (l.read_gbs * 1e9) : 0;
  auto peak_of = [&l](Peak p) {
    switch (p) {
      case Peak::fma: return l.fma_gflops;
      case Peak::vnni: return l.vnni_gops;
      case Peak::bf16: return l.bf16_gflops;
      case Peak::amx_int8: return l.amx_int8_gops;
      case Peak::none: break;
    }
    return 0.0;
  };
  double compute = 0;
  if (peak_of(w.peak) > 0) compute += w.ops / (peak_of(w.peak) * 1e9);
  if (w.ops2 > 0 && peak_of(w.peak2) > 0) compute += w.ops2 / (peak_of(w.peak2) * 1e9);
  limit = std::max(limit, compute);
  st.counters["bytes_per_second"] = benchmark::Counter(w.bytes / t);
  st.counters["ops_per_second"] = benchmark::Counter(w.ops / t);
  st.counters["frac_of_limit"] = benchmark::Counter(limit / t);
}

void register_limits_benchmark(const std::vector<int>& thread_counts) {
  for (int threads : thread_counts) {
    const std::string name = "limits/threads:" + std::to_string(threads);
    benchmark::RegisterBenchmark(name.c_str(), [threads](benchmark::State& st) {
      const Limits& l = measure_limits(threads);
      for (auto _ : st) benchmark::DoNotOptimize(l.read_gbs);
      st.counters["read_gbs"] = l.read_gbs;
      st.counters["fma_gflops"] = l.fma_gflops;
      st.counters["vnni_gops"] = l.vnni_gops;
      st.counters["bf16_gflops"] = l.bf16_gflops;
      st.counters["amx_int8_gops"] = l.amx_int8_gops;
    })->Iterations(1);
  }
}

void add_cpu_context() {
  const CpuFeatures& f = cpu_features();
  std::string names;
  for (const auto& n : f.names()) names += (names.empty() ? "" : ",") + n;
  benchmark::AddCustomContext("kcs_cpu", f.model);
  benchmark::AddCustomContext("kcs_cpu_features", names);
}

}  // namespace kcs::bench
