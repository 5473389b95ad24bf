// This machine's limits, measured in the same process as the benchmarks that compare against
// them. The VM class kcs runs on swings by 2x in bandwidth from run to run (perf/LIMITS.md),
// so a kernel's speed only means something as a fraction of a limit taken in the same run.
//
//   read_gbs     sum-reduce of a 512 MiB buffer (far larger than L3) by `threads` OpenMP
//                threads, best of a few passes: the bound for streaming weights/activations.
//   fma_gflops   independent fp32 vfmadd chains, zmm if the CPU has AVX-512F, else ymm (0 when
//                neither AVX2+FMA); 2 flop per lane.
//   vnni_gops    independent vpdpbusd chains: zmm (AVX512-VNNI), else ymm (AVX-VNNI), else 0;
//                2 ops (multiply, add) per u8 x s8 product.
//   bf16_gflops  independent vdpbf16ps zmm chains (AVX512-BF16), else 0; 2 flop per product.
//   amx_int8_gops  independent tdpbssd tile chains where the amx variant runs, else 0; 2 ops per
//                int8 product (limits_amx.cc).
//
// Each probe is compiled with only its own ISA flags (limits_avx512.cc, limits_avx2.cc,
// limits_avxvnni.cc) and chosen with kcs::cpu_features() at run time; limits.cc itself is
// built for the baseline CPU.
#pragma once

#include <benchmark/benchmark.h>

#include <cstddef>
#include <string>
#include <vector>

namespace kcs::bench {

struct Limits {
  int threads;
  double read_gbs;     // GB/s (1e9 bytes)
  double fma_gflops;   // GFLOP/s
  double vnni_gops;    // GOP/s
  double bf16_gflops;  // GFLOP/s
  double amx_int8_gops;  // GOP/s
};

// Measured once per process per thread count (the first call takes about a second and briefly
// holds 512 MiB), then cached. Thread-safe to call from benchmark bodies.
const Limits& measure_limits(int threads);

// The compute peak a benchmark's ops are measured against (none: bandwidth only).
enum class Peak { none, fma, vnni, bf16, amx_int8 };

// Work done by one iteration of a benchmark.
struct Work {
  double bytes = 0;  // bytes that must cross the memory interface (read + written)
  double ops = 0;    // kernel-defined operations (documented by each bench)
  Peak peak = Peak::none;
  // A second class of ops on another unit (a fused kernel with int8 and BF16 GEMMs): the compute
  // limit is then ops / peak + ops2 / peak2 (the units are not assumed to overlap).
  double ops2 = 0;
  Peak peak2 = Peak::none;
};

// Wall-clock seconds (steady clock); benchmarks time their loop with it because kcs kernels
// thread with OpenMP inside one benchmark thread (so they also register UseRealTime()).
double now_seconds();

// Sets counters bytes_per_second, ops_per_second and frac_of_limit on `st` after the timed loop
// that ran st.iterations() iterations in `loop_seconds`. frac_of_limit = limit time / achieved
// time, where limit time = max(bytes / read_gbs, ops / peak) with the limits of `threads`
// measured in this process: 1 means the kernel runs at the machine's limit. Data that stays in
// cache between iterations can exceed 1, because the bandwidth limit is DRAM's.
void add_roofline_counters(benchmark::State& st, const Work& w, int threads, double loop_seconds);

// Registers "limits/threads:N" entries (one per thread count) whose counters are the measured
// probe values, so that they appear in the console table and in --benchmark_out JSON. Call it
// before the kernel benchmarks are registered so that it runs (and is printed) first.
void register_limits_benchmark(const std::vector<int>& thread_counts);

// 64-byte (in fact 2 MiB) aligned memory for buffers a bench streams from DRAM, backed by
// transparent huge pages where Linux allows, as the read_gbs probe's buffer is; free with
// std::free. A bench that streams 4 KiB pages would be measured against a limit it cannot
// reach (4 KiB pages cost ~40% of single-core streaming bandwidth on the project's VM).
void* alloc_stream_buffer(size_t bytes);

// The implementations a bench puts side by side: the reference backend and each ISA variant.
enum class Impl { reference, avx512, avx2, amx };
const char* impl_name(Impl i);
// "" when this CPU runs the variant (the reference always), else "skipped: needs ...": a variant
// that cannot run is reported skipped, never timed.
std::string skip_reason(Impl impl);

// Adds the CPU model and features to the benchmark context (printed in the header and JSON).
void add_cpu_context();

}  // namespace kcs::bench
