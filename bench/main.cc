// The one main() of the kcs bench programs: the same-run limits rows first (bench/report.py reads
// limits/threads:N), then the program's own rows.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <exception>

#include "bench/harness.h"

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  try {  // a missing or malformed shapes file is named, not a crash
    kcs::bench::add_cpu_context();
    kcs::bench::register_limits_benchmark(kcs::bench::thread_counts());
    kcs::bench::register_benchmarks();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: %s\n", argv[0], e.what());
    return 1;
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
