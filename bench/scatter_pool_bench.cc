// Paged-cache scatter_update (spec §1.6) and gated softmax pooling (spec §7.4) at DeepSeek
// shapes. Reference and every ISA variant side by side, 1 and 2 OpenMP threads.
//
// softmax_pool (M x C, n_blocks; BF16 values, fp32 logits, fp32 out):
//   CSA main     M = 8,   C = 512, n_blocks 1, 16, 256   (decode: 1 block; prefill 1024 tokens: 256)
//   CSA indexer  M = 8,   C = 128, n_blocks 1, 256
//   HCA          M = 128, C = 512, n_blocks 1, 8, 64     (prefill 8192 tokens: 64 blocks)
// scatter (T tokens into a 128-slot-block cache of 256 MiB, random distinct rows):
//   K1 k_cache int8 D = 128; K2 kv bf16 D = 512; K2 kr bf16 D = 64; K2 k_scale fp32 D = 4;
//   K1 k_scale fp16 D = 1; T = 1, 16, 128, 1024, 4096
//
// Variants (names <kernel>/<mode>:<impl>/<shape>/threads:T):
//   api:*   kcs::make_builtin_backend(impl)->run() on one set of tensors, as users call it
//           (validate_call included; for scatter its check_inputs scans the indices).
//   cold:*  the optimized driver (opt::softmax_pool_run with cols_per_cta = 128 / opt::scatter_run
//           with token_tile = 64) on raw pointers; each iteration uses a different copy of the
//           inputs out of a pool far larger than L3 (and, for scatter, a 256 MiB cache), so
//           data streams from DRAM as the bandwidth limit assumes.
//   hot:*   the same on one buffer that stays in cache between iterations (pool only).
// The reference is single-threaded: it runs at threads:1 (api only).
//
// Counters: bytes_per_second counts the bytes that must cross the memory interface:
//   softmax_pool: logits 4 B + values 2 B per window element, 4 B per output;
//   scatter: src row read + the cache row's 64-byte lines read for ownership and written back
//   (rows of a few bytes cost a whole line each way; random rows make them latency-bound).
// ops_per_second counts window elements (softmax_pool, one exp each) or tokens (scatter).
// frac_of_limit = (bytes / read bandwidth measured in this process) / achieved time. The pool
// kernel also executes about 30 vector instructions per 16 window elements (exp 14, the
// subtraction, loads and BF16 widening, widening e and v to binary64 and 4 binary64 add/fma for
// the sums), so at one thread it can be compute-bound below the bandwidth limit: frac_of_limit
// then says how far the stream is from DRAM speed, not a compute efficiency.
#include <benchmark/benchmark.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "bench/limits.h"
#include "kcs/backend.h"
#include "kcs/cpu.h"
#include "kcs/decl.h"
#include "kcs/formats.h"
#include "optimized/scatter.h"
#include "optimized/softmax_pool.h"

namespace kcs::bench {
namespace {

constexpr int kThreads[] = {1, 2};

Isa isa_of(Impl i) { return i == Impl::avx512 ? Isa::avx512 : Isa::avx2; }

uint64_t xorshift(uint64_t& s) {
  s ^= s << 13;
  s ^= s >> 7;
  s ^= s << 17;
  return s;
}

// ---------------------------------------------------------------------------------------------
// softmax_pool

struct PoolShape {
  const char* name;
  int64_t M, C, nb;
};

constexpr PoolShape kPoolShapes[] = {
    {"csa_main", 8, 512, 1},   {"csa_main", 8, 512, 16},  {"csa_main", 8, 512, 256},
    {"csa_index", 8, 128, 1},  {"csa_index", 8, 128, 256},
    {"hca", 128, 512, 1},      {"hca", 128, 512, 8},      {"hca", 128, 512, 64},
};

int64_t elems(const PoolShape& s) { return s.nb * s.M * s.C; }

Work pool_work(const PoolShape& s) {
  Work w;
  w.bytes = static_cast<double>(elems(s)) * 6.0 + static_cast<double>(s.nb * s.C) * 4.0;
  w.ops = static_cast<double>(elems(s));
  w.peak = Peak::none;
  return w;
}

// Logits ~ score-like values in [-4, 4), BF16 values with random sign and magnitudes 2^-9..2^2.
void fill_pool(float* z, uint16_t* v, int64_t n, uint64_t seed) {
  uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;
  for (int64_t i = 0; i < n; ++i) {
    const uint32_t r = static_cast<uint32_t>(xorshift(s) >> 32);
    z[i] = static_cast<float>(static_cast<int32_t>(r)) * 0x1p-29f;
    const uint32_t e = 118u + (r >> 8) % 12u;
    v[i] = static_cast<uint16_t>(((r & 1u) << 15) | (e << 7) | ((r >> 1) & 0x7Fu));
  }
}

struct PoolBuffers {
  static constexpr int64_t kElems = int64_t{48} << 20;  // 192 MiB of logits + 96 MiB of values
  float* z = nullptr;
  uint16_t* v = nullptr;
  float* out = nullptr;
};

const PoolBuffers& pool_buffers() {
  static const PoolBuffers p = [] {
    PoolBuffers q;
    q.z = static_cast<float*>(alloc_stream_buffer(PoolBuffers::kElems * 4));
    q.v = static_cast<uint16_t*>(alloc_stream_buffer(PoolBuffers::kElems * 2));
    q.out = static_cast<float*>(alloc_stream_buffer(PoolBuffers::kElems / 8 * 4));  // M >= 8
    fill_pool(q.z, q.v, PoolBuffers::kElems, 1);
    std::fill(q.out, q.out + PoolBuffers::kElems / 8, 0.0f);
    return q;
  }();
  return p;
}

void bm_pool_api(benchmark::State& st, Impl impl, PoolShape s, int threads) {
  if (const std::string why = skip_reason(impl); !why.empty()) {
    st.SkipWithError(why.c_str());
    return;
  }
  std::unique_ptr<Backend> backend = make_builtin_backend(impl_name(impl));
  const KernelDecl& decl = kernel_or_throw("softmax_pool");
  Problem p;
  p.kernel = "softmax_pool";
  p.dims = {{"n_blocks", s.nb}, {"M", s.M}, {"C", s.C}};
  p = complete_problem(decl, p);
  TensorMap t;
  for (const char* name : {"logits", "values", "pooled"}) t[name] = make_tensor(decl, p, name);
  fill_pool(t["logits"].data<float>(), t["values"].data<uint16_t>(), elems(s), 2);
  Invocation inv;
  inv.decl = &decl;
  inv.problem = &p;
  inv.tensors = &t;
  inv.threads = threads;
  if (Status first = backend->run(inv); !first) {
    st.SkipWithError(("backend failed: " + first.message).c_str());
    return;
  }
  measure_limits(threads);
  Status last;
  const double t0 = now_seconds();
  for (auto _ : st) {
    last = backend->run(inv);
    benchmark::ClobberMemory();
  }
  const double secs = now_seconds() - t0;
  if (!last) st.SkipWithError(("backend failed: " + last.message).c_str());
  add_roofline_counters(st, pool_work(s), threads, secs);
}

void bm_pool_raw(benchmark::State& st, Impl impl, PoolShape s, int threads, bool cold) {
  if (const std::string why = skip_reason(impl); !why.empty()) {
    st.SkipWithError(why.c_str());
    return;
  }
  const PoolBuffers& b = pool_buffers();
  const int64_t per = elems(s);
  const int64_t copies = cold ? std::max<int64_t>(1, PoolBuffers::kElems / per) : 1;
  measure_limits(threads);
  int64_t k = 0;
  const double t0 = now_seconds();
  for (auto _ : st) {
    opt::softmax_pool_run(b.z + k * per, b.v + k * per, true, s.nb, s.M, s.C, b.out + k * s.nb * s.C, isa_of(impl),
                          threads, 128);
    benchmark::ClobberMemory();
    if (++k == copies) k = 0;
  }
  add_roofline_counters(st, pool_work(s), threads, now_seconds() - t0);
}

std::string pool_name(const char* mode, Impl impl, const PoolShape& s, int threads) {
  return std::string("softmax_pool/") + mode + ":" + impl_name(impl) + "/" + s.name + "/M:" + std::to_string(s.M) +
         "/C:" + std::to_string(s.C) + "/n_blocks:" + std::to_string(s.nb) + "/threads:" + std::to_string(threads);
}

// ---------------------------------------------------------------------------------------------
// scatter

struct ScatterShape {
  const char* name;
  DType dtype;
  int64_t D;
};

constexpr ScatterShape kScatterShapes[] = {
    {"k1_k_cache", DType::i8, 128}, {"k2_kv", DType::bf16, 512},  {"k2_kr", DType::bf16, 64},
    {"k2_k_scale", DType::fp32, 4}, {"k1_k_scale", DType::fp16, 1},
};
constexpr int64_t kTokens[] = {1, 16, 128, 1024, 4096};
constexpr int64_t kBlockSize = 128;
constexpr size_t kCacheBytes = size_t{256} << 20;
constexpr size_t kSrcPoolBytes = size_t{128} << 20;

Work scatter_work(const ScatterShape& s, int64_t T) {
  Work w;
  // A cache row costs whole 64-byte lines: read for ownership, then written back.
  const double rb = static_cast<double>(s.D) * static_cast<double>(dtype_size(s.dtype));
  const double lines = std::ceil(rb / 64.0) * 64.0;
  w.bytes = static_cast<double>(T) * (rb + 2.0 * lines);
  w.ops = static_cast<double>(T);
  w.peak = Peak::none;
  return w;
}

// T distinct random rows of a cache with `rows` rows (rejection sampling: T << rows here).
std::vector<int64_t> random_rows(int64_t T, int64_t rows, uint64_t seed) {
  std::vector<int64_t> out;
  std::set<int64_t> seen;
  uint64_t s = seed * 0x9E3779B97F4A7C15ull + 7;
  while (static_cast<int64_t>(out.size()) < T) {
    const int64_t r = static_cast<int64_t>(xorshift(s) % static_cast<uint64_t>(rows));
    if (seen.insert(r).second) out.push_back(r);
  }
  return out;
}

struct ScatterBuffers {
  uint8_t* cache = nullptr;
  uint8_t* src = nullptr;
};

const ScatterBuffers& scatter_buffers() {
  static const ScatterBuffers b = [] {
    ScatterBuffers q;
    q.cache = static_cast<uint8_t*>(alloc_stream_buffer(kCacheBytes));
    q.src = static_cast<uint8_t*>(alloc_stream_buffer(kSrcPoolBytes));
    std::memset(q.cache, 0x11, kCacheBytes);
    for (size_t i = 0; i < kSrcPoolBytes; ++i) q.src[i] = static_cast<uint8_t>(i * 131 + 7);
    return q;
  }();
  return b;
}

void bm_scatter_api(benchmark::State& st, Impl impl, ScatterShape s, int64_t T, int threads) {
  if (const std::string why = skip_reason(impl); !why.empty()) {
    st.SkipWithError(why.c_str());
    return;
  }
  std::unique_ptr<Backend> backend = make_builtin_backend(impl_name(impl));
  const KernelDecl& decl = kernel_or_throw("scatter");
  const size_t rb = static_cast<size_t>(s.D) * dtype_size(s.dtype);
  // A cache of 32 MiB (L3-sized) keeps the api variant's allocation modest.
  const int64_t block_num = std::max<int64_t>(1, static_cast<int64_t>((size_t{32} << 20) / (rb * kBlockSize)));
  Problem p;
  p.kernel = "scatter";
  p.dims = {{"T", T}, {"block_num", block_num}, {"block_size", kBlockSize}, {"D", s.D}};
  p.attrs = {{"dtype", dtype_name(s.dtype)}};
  p = complete_problem(decl, p);
  TensorMap t;
  for (const char* name : {"cache", "src", "index"}) t[name] = make_tensor(decl, p, name);
  const std::vector<int64_t> rows = random_rows(T, block_num * kBlockSize, 3);
  std::copy(rows.begin(), rows.end(), t["index"].data<int64_t>());
  Invocation inv;
  inv.decl = &decl;
  inv.problem = &p;
  inv.tensors = &t;
  inv.threads = threads;
  if (Status first = backend->run(inv); !first) {
    st.SkipWithError(("backend failed: " + first.message).c_str());
    return;
  }
  measure_limits(threads);
  Status last;
  const double t0 = now_seconds();
  for (auto _ : st) {
    last = backend->run(inv);
    benchmark::ClobberMemory();
  }
  const double secs = now_seconds() - t0;
  if (!last) st.SkipWithError(("backend failed: " + last.message).c_str());
  add_roofline_counters(st, scatter_work(s, T), threads, secs);
}

void bm_scatter_cold(benchmark::State& st, Impl impl, ScatterShape s, int64_t T, int threads) {
  if (const std::string why = skip_reason(impl); !why.empty()) {
    st.SkipWithError(why.c_str());
    return;
  }
  const ScatterBuffers& b = scatter_buffers();
  opt::ScatterCall c;
  c.g.block_size = kBlockSize;
  c.g.D = s.D;
  c.g.elem_size = dtype_size(s.dtype);
  const size_t rb = static_cast<size_t>(s.D) * c.g.elem_size;
  c.g.block_num = static_cast<int64_t>(kCacheBytes / (rb * kBlockSize));
  // Consecutive iterations take consecutive windows of T random rows out of a list that names
  // 128 MiB of cache lines (4x L3), so the rows written are cold; repeats inside a window are
  // rare and harmless (the single-threaded path writes in token order).
  const int64_t line_bytes = static_cast<int64_t>(std::max<size_t>(rb, 64));
  const int64_t sets = std::max<int64_t>(1, (int64_t{128} << 20) / (line_bytes * T));
  std::vector<int64_t> rows(static_cast<size_t>(sets * T));
  uint64_t seed = 12345;
  for (auto& r : rows) r = static_cast<int64_t>(xorshift(seed) % static_cast<uint64_t>(c.g.capacity()));
  const int64_t src_copies = std::max<int64_t>(1, static_cast<int64_t>(kSrcPoolBytes / (rb * static_cast<size_t>(T))));
  c.cache = b.cache;
  c.T = T;
  measure_limits(threads);
  int64_t k = 0;
  const double t0 = now_seconds();
  for (auto _ : st) {
    c.index = rows.data() + (k % sets) * T;
    c.src = b.src + static_cast<size_t>(k % src_copies) * rb * static_cast<size_t>(T);
    opt::scatter_run(c, isa_of(impl), threads, 64);
    benchmark::ClobberMemory();
    ++k;
  }
  add_roofline_counters(st, scatter_work(s, T), threads, now_seconds() - t0);
}

std::string scatter_name(const char* mode, Impl impl, const ScatterShape& s, int64_t T, int threads) {
  return std::string("scatter/") + mode + ":" + impl_name(impl) + "/" + s.name + "/D:" + std::to_string(s.D) +
         "/T:" + std::to_string(T) + "/threads:" + std::to_string(threads);
}

void register_all() {
  for (const PoolShape& s : kPoolShapes)
    for (int threads : kThreads)
      for (Impl impl : {Impl::reference, Impl::avx512, Impl::avx2}) {
        if (impl == Impl::reference && threads != 1) continue;
        benchmark::RegisterBenchmark(pool_name("api", impl, s, threads).c_str(), bm_pool_api, impl, s, threads)
            ->UseRealTime()
            ->Unit(benchmark::kMicrosecond);
        if (impl == Impl::reference) continue;
        benchmark::RegisterBenchmark(pool_name("cold", impl, s, threads).c_str(), bm_pool_raw, impl, s, threads, true)
            ->UseRealTime()
            ->Unit(benchmark::kMicrosecond);
        benchmark::RegisterBenchmark(pool_name("hot", impl, s, threads).c_str(), bm_pool_raw, impl, s, threads, false)
            ->UseRealTime()
            ->Unit(benchmark::kMicrosecond);
      }
  for (const ScatterShape& s : kScatterShapes)
    for (int64_t T : kTokens)
      for (int threads : kThreads)
        for (Impl impl : {Impl::reference, Impl::avx512, Impl::avx2}) {
          if (impl == Impl::reference && threads != 1) continue;
          benchmark::RegisterBenchmark(scatter_name("api", impl, s, T, threads).c_str(), bm_scatter_api, impl, s, T,
                                       threads)
              ->UseRealTime()
              ->Unit(benchmark::kMicrosecond);
          if (impl == Impl::reference) continue;
          benchmark::RegisterBenchmark(scatter_name("cold", impl, s, T, threads).c_str(), bm_scatter_cold, impl, s, T,
                                       threads)
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
