// What every kcs bench program shares: the shapes (fixtures/catalog/bench_shapes.json), the
// implementations put side by side, input fills, cold-data pools, the timed loop with its roofline
// counters, registration and the generic API bench. A program defines register_benchmarks() and
// keeps only its raw / hot / cold bodies and its work formula; main() is bench/main.cc.
#pragma once

#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench/limits.h"
#include "kcs/cpu.h"
#include "kcs/decl.h"
#include "kcs/tensor.h"

namespace kcs::bench {

// Defined by each program: registers its rows (after the limits rows, which main() registers).
void register_benchmarks();

// ---- shapes -------------------------------------------------------------------------------------
// One entry of a group in bench_shapes.json after expansion: array values in an entry expand to
// their product (the first key outermost), as in the conformance catalogs.
struct Shape {
  nlohmann::ordered_json j;
  int64_t i(const std::string& key) const;
  std::string s(const std::string& key) const;
  bool has(const std::string& key) const { return j.contains(key); }
  Dims dims(const std::vector<std::string>& keys) const;
  Attrs attrs() const;  // the entry's "attrs" object (strings), empty without one
  // "k1:v1/k2:v2" of the named integer keys, for row names.
  std::string tail(const std::vector<std::string>& keys) const;
};
std::vector<Shape> shapes(const std::string& group);  // throws kcs::Error naming file and group
const std::vector<int>& thread_counts();              // the file's "threads"

// ---- variants -----------------------------------------------------------------------------------
// The optimized rows come from the kernel's variants table (optimized/<k>.h, k<Id>Variants: one row
// per ISA with its entry points), so a new variant is benched without touching the bench. The
// reference is benched through the public backend only (api rows at threads 1: it ignores the
// thread count), never through its internals.
inline Impl impl_of(Isa isa) {
  return isa == Isa::amx ? Impl::amx : isa == Isa::avx512 ? Impl::avx512 : Impl::avx2;
}
// Marks the row skipped (never timed) where this CPU cannot run `impl`; true then.
bool skip_unavailable(benchmark::State& st, Impl impl);
// fn(variant, threads) for each thread count and each row of `list`, in table order.
template <class V, size_t N, class Fn>
void for_each_variant(const V (&list)[N], Fn&& fn) {
  for (int threads : thread_counts())
    for (const V& v : list) fn(v, threads);
}

// ---- fills and pools ----------------------------------------------------------------------------
uint64_t xorshift(uint64_t& s);
// Activation-like BF16: random sign and mantissa, magnitudes 2^(exp_lo-127) .. 2^(exp_lo-127+span-1)
// (default 2^-9 .. 2^2). Any 4-byte-aligned pair read as binary32 is moderate and finite too, so
// one fill serves FP32 tensors as well.
void fill_bf16(uint16_t* x, int64_t count, uint64_t seed, uint32_t exp_lo = 118, uint32_t span = 12);
void fill_i8(int8_t* x, int64_t count, uint64_t seed);

// fn(begin, end) over [0, count) in tiles of `tile`, one OpenMP work item each (the adapters' split).
template <class Fn>
void for_tiles(int64_t count, int64_t tile, int threads, Fn&& fn) {
  const int64_t n = (count + tile - 1) / tile;
#pragma omp parallel for num_threads(threads) schedule(static)
  for (int64_t t = 0; t < n; ++t) fn(t * tile, std::min(count, (t + 1) * tile));
}

template <class T>
T* stream_array(int64_t count) {
  return static_cast<T*>(alloc_stream_buffer(static_cast<size_t>(count) * sizeof(T)));
}
// How many per-call copies fill `pool_bytes` (at least `at_least`): rotating over them makes
// every call stream its data from DRAM, as the bandwidth limit assumes.
int64_t copies_for(double pool_bytes, double per_call_bytes, int64_t at_least = 1);

// ---- timing ---------------------------------------------------------------------------------------
// Runs body(k) once per iteration, k cycling over [0, copies), and returns the loop's wall
// seconds; the limits of `threads` are measured before the clock starts.
template <class Body>
double timed_loop(benchmark::State& st, int threads, int64_t copies, Body&& body) {
  measure_limits(threads);
  int64_t k = 0;
  const double t0 = now_seconds();
  for (auto _ : st) {
    body(k);
    benchmark::ClobberMemory();
    if (++k == copies) k = 0;
  }
  return now_seconds() - t0;
}
template <class Body>
void timed(benchmark::State& st, const Work& w, int threads, int64_t copies, Body&& body) {
  const double secs = timed_loop(st, threads, copies, std::forward<Body>(body));
  add_roofline_counters(st, w, threads, secs);
}

template <class Fn, class... Args>
benchmark::internal::Benchmark* add(const std::string& name, Fn&& fn, Args&&... args) {
  return benchmark::RegisterBenchmark(name.c_str(), std::forward<Fn>(fn), std::forward<Args>(args)...)
      ->UseRealTime()
      ->Unit(benchmark::kMicrosecond);
}
// "<family>/<mode>:<impl>/<tail>/threads:T"
std::string row_name(const std::string& family, const std::string& mode, Impl impl, const std::string& tail,
                     int threads);

// ---- the generic API bench ------------------------------------------------------------------------
Problem make_problem(const std::string& kernel, Dims dims, Attrs attrs = {});  // completed, validated
// Every declared tensor of `p`, inputs filled by the kernel's fixture generator (scenario random).
TensorMap make_tensors(const Problem& p, uint64_t seed);

struct ApiBench {
  ApiBench(Problem p, const Work& w) : problem(std::move(p)), work(w) {}
  Problem problem;
  Work work;
  // Cold inputs: with pool_bytes > 0, deep copies of the tensors rotate per call, enough that the
  // `streamed` tensors' copies exceed pool_bytes (at least 2); else one set stays cached.
  double pool_bytes = 0;
  std::vector<std::string> streamed;
  std::function<void(TensorMap&)> fill;     // default: make_tensors' generator fill
  // Replaces add_roofline_counters(work) where a program reports its own counters.
  std::function<void(benchmark::State&, int threads, double loop_seconds)> counters;
};
// What users run, validation included: kcs::make_builtin_backend(impl)->run(), or for a kernel with
// weights (TensorDecl::weight) Plan::run on weights prepared once per copy (Backend::prepare).
void bm_api(benchmark::State& st, Impl impl, const ApiBench& b, int threads);

// The usual rows of one shape: <family>/api:reference/<tail>/threads:1, then for each thread count
// and variant of `list` <family>/api:<isa>/<tail> through bm_api and <family>/<mode>:<isa>/<tail>
// for each raw mode ("cold", "hot") through raw(st, variant, threads, mode == "cold") where this
// CPU runs the variant.
template <class V>
using RawBench = std::function<void(benchmark::State&, const V&, int threads, bool cold)>;
template <class V, size_t N>
void add_rows(const std::string& family, const std::string& tail, const ApiBench& api,
              const std::vector<std::string>& raw_modes, const V (&list)[N], const RawBench<V>& raw) {
  add(row_name(family, "api", Impl::reference, tail, 1), bm_api, Impl::reference, api, 1);
  for_each_variant(list, [&](const V& v, int threads) {
    const Impl impl = impl_of(v.isa);
    add(row_name(family, "api", impl, tail, threads), bm_api, impl, api, threads);
    for (const std::string& mode : raw_modes)
      add(row_name(family, mode, impl, tail, threads), [raw, v, impl](benchmark::State& st, int t, bool cold) {
        if (!skip_unavailable(st, impl)) raw(st, v, t, cold);
      }, threads, mode == "cold");
  });
}

}  // namespace kcs::bench
