// Q8 quantizer (spec §1.1) at DeepSeek shapes: BF16 rows in, INT8 codes + FP32 scale out, rint,
// no floor. Reference and every ISA variant side by side, 1 and 2 OpenMP threads.
//
// Shapes (rows x n):
//   n = 128:  64, 1024, 8192 rows   K1 q heads (t x 64 heads, t = 1, 16, 128)
//   n = 1536: 1, 4, 16, 128, 1024   K2 q_norm (q_lora_rank), per token
//   n = 7168: 1, 4, 16, 128, 1024   hidden-size rows
//
// Variants (names q8/<mode>:<impl>/rows:R/n:N/threads:T):
//   api:*   kcs::make_builtin_backend(impl)->run(): what users run, including validate_call();
//           its check_inputs() rescans every row in scalar code (to reject subnormal-scale rows),
//           which costs more than the SIMD kernel itself, so the kernels are ALSO measured raw:
//   cold:*  opt::q8_rows_* with the adapter's row tiling (16 rows per OpenMP work item), or
//           q8_row_reference per row for the reference; every iteration works on a different
//           copy of the input out of a 128 MiB pool (4x L3), so data streams from DRAM as the
//           bandwidth limit assumes.
//   hot:*   the same calls on one buffer that stays in cache between iterations.
// The reference is single-threaded (ref::q8 ignores the thread count): it runs at threads:1 only.
//
// Counters: bytes_per_second counts the bytes a kernel must move (read n*2 + write n codes +
// 4 scale bytes per row); ops_per_second counts quantized elements; frac_of_limit = (bytes /
// read bandwidth measured in this process) / achieved time. It is <= 1 for cold data; hot data
// that fits in cache can beat the DRAM limit (frac > 1).
#include <benchmark/benchmark.h>
#include <omp.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "bench/limits.h"
#include "kcs/backend.h"
#include "kcs/cpu.h"
#include "kcs/decl.h"
#include "kcs/formats.h"
#include "kcs/kernels/q8.h"
#include "optimized/q8.h"
#include "reference/primitives.h"

namespace kcs::bench {
namespace {

struct Shape {
  int64_t rows, n;
};

constexpr Shape kShapes[] = {
    {64, 128},  {1024, 128}, {8192, 128},                                  // K1 q heads
    {1, 1536},  {4, 1536},   {16, 1536}, {128, 1536}, {1024, 1536},  // K2 q_norm
    {1, 7168},  {4, 7168},   {16, 7168}, {128, 7168}, {1024, 7168},  // hidden size
};
constexpr int kThreads[] = {1, 2};
constexpr int64_t kRowTile = 16;  // the declaration's default row_tile, as the adapter uses it

Work q8_work(const Shape& s) {
  Work w;
  w.bytes = static_cast<double>(s.rows) * static_cast<double>(s.n * 2 + s.n + 4);
  w.ops = static_cast<double>(s.rows * s.n);
  w.peak = Peak::none;  // bandwidth bound
  return w;
}

// Activation-like BF16 values: random sign and mantissa, magnitudes 2^-9 .. 2^2 (xorshift: the
// pool is 64 M values and the values do not change the kernels' speed).
void fill_bf16(uint16_t* x, int64_t count, uint64_t seed) {
  uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;
  for (int64_t i = 0; i < count; ++i) {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    const uint32_t r = static_cast<uint32_t>(s >> 32);
    const uint32_t exp = 118u + (r >> 8) % 12u;
    x[i] = static_cast<uint16_t>(((r & 1u) << 15) | (exp << 7) | ((r >> 1) & 0x7Fu));
  }
}

// The cold-data pool: distinct copies of the input, codes and scales, touched once.
struct Pool {
  static constexpr int64_t kElems = int64_t{64} << 20;  // 128 MiB of BF16 + 64 MiB of codes
  uint16_t* x = nullptr;
  int8_t* codes = nullptr;
  float* scale = nullptr;
};

const Pool& pool() {
  static const Pool p = [] {
    Pool q;
    // Huge-page backed like the read_gbs probe's buffer, so both stream under the same rules.
    q.x = static_cast<uint16_t*>(alloc_stream_buffer(Pool::kElems * 2));
    q.codes = static_cast<int8_t*>(alloc_stream_buffer(Pool::kElems));
    q.scale = static_cast<float*>(alloc_stream_buffer(Pool::kElems / 128 * 4));  // n >= 128
    fill_bf16(q.x, Pool::kElems, 1);
    std::fill(q.codes, q.codes + Pool::kElems, int8_t{0});
    std::fill(q.scale, q.scale + Pool::kElems / 128, 0.0f);
    return q;
  }();
  return p;
}

// Through the public backend API, as users call it.
void bm_api(benchmark::State& st, Impl impl, Shape s, int threads) {
  if (const std::string why = skip_reason(impl); !why.empty()) {
    st.SkipWithError(why.c_str());
    return;
  }
  std::unique_ptr<Backend> backend = make_builtin_backend(impl_name(impl));
  const KernelDecl& decl = kernel_or_throw("q8");
  Problem p;
  p.kernel = "q8";
  p.dims = {{"rows", s.rows}, {"n", s.n}};
  p.attrs = {{"round_mode", "rint"}, {"amax_floor", "none"}, {"x_dtype", "bfloat16"}, {"scale_dtype", "float32"}};
  p = complete_problem(decl, p);
  TensorMap tensors;
  for (const char* name : {"x", "codes", "scale"}) tensors[name] = make_tensor(decl, p, name);
  fill_bf16(tensors["x"].data<uint16_t>(), s.rows * s.n, 2);
  Invocation inv;
  inv.decl = &decl;
  inv.problem = &p;
  inv.tensors = &tensors;
  inv.threads = threads;
  if (Status first = backend->run(inv); !first) {
    st.SkipWithError(("backend failed: " + first.message).c_str());
    return;
  }
  measure_limits(threads);  // outside the timed loop (cached after the first call)
  Status last;
  const double t0 = now_seconds();
  for (auto _ : st) {
    last = backend->run(inv);
    benchmark::ClobberMemory();
  }
  const double secs = now_seconds() - t0;
  if (!last) st.SkipWithError(("backend failed: " + last.message).c_str());
  add_roofline_counters(st, q8_work(s), threads, secs);
}

// One call of the kernel on raw pointers: the adapter's tiling for the ISA variants, the
// reference's own loop (widen BF16, q8_row_reference, store the fp32 scale) for the reference.
void run_raw(Impl impl, const uint16_t* x, int8_t* codes, float* scale, Shape s, int threads,
             std::vector<float>& row) {
  if (impl == Impl::reference) {
    const Q8Params q;
    for (int64_t r = 0; r < s.rows; ++r) {
      for (int64_t j = 0; j < s.n; ++j) row[static_cast<size_t>(j)] = bf16_to_float(x[r * s.n + j]);
      scale[r] = q8_row_reference(row.data(), s.n, q, codes + r * s.n);
    }
    return;
  }
  opt::Q8Rows a;
  a.x = x;
  a.x_dtype = DType::bf16;
  a.n = s.n;
  a.codes = codes;
  a.scale = scale;
  a.scale_dtype = DType::fp32;
  auto fn = impl == Impl::avx512 ? &opt::q8_rows_avx512 : &opt::q8_rows_avx2;
  const int64_t tiles = (s.rows + kRowTile - 1) / kRowTile;
#pragma omp parallel for num_threads(threads) schedule(static)
  for (int64_t t = 0; t < tiles; ++t) fn(a, t * kRowTile, std::min(s.rows, (t + 1) * kRowTile));
}

void bm_raw(benchmark::State& st, Impl impl, Shape s, int threads, bool cold) {
  if (const std::string why = skip_reason(impl); !why.empty()) {
    st.SkipWithError(why.c_str());
    return;
  }
  const Pool& p = pool();
  const int64_t per = s.rows * s.n;
  const int64_t copies = cold ? std::max<int64_t>(1, Pool::kElems / per) : 1;
  std::vector<float> row(static_cast<size_t>(s.n));
  measure_limits(threads);
  int64_t k = 0;
  const double t0 = now_seconds();
  for (auto _ : st) {
    run_raw(impl, p.x + k * per, p.codes + k * per, p.scale + k * s.rows, s, threads, row);
    benchmark::ClobberMemory();
    if (++k == copies) k = 0;
  }
  add_roofline_counters(st, q8_work(s), threads, now_seconds() - t0);
}

std::string bench_name(const char* mode, Impl impl, Shape s, int threads) {
  return std::string("q8/") + mode + ":" + impl_name(impl) + "/rows:" + std::to_string(s.rows) +
         "/n:" + std::to_string(s.n) + "/threads:" + std::to_string(threads);
}

void register_q8() {
  for (const Shape& s : kShapes) {
    for (int threads : kThreads) {
      for (Impl impl : {Impl::reference, Impl::avx512, Impl::avx2}) {
        if (impl == Impl::reference && threads != 1) continue;  // single-threaded reference
        benchmark::RegisterBenchmark(bench_name("api", impl, s, threads).c_str(), bm_api, impl, s, threads)
            ->UseRealTime()
            ->Unit(benchmark::kMicrosecond);
        benchmark::RegisterBenchmark(bench_name("cold", impl, s, threads).c_str(), bm_raw, impl, s, threads, true)
            ->UseRealTime()
            ->Unit(benchmark::kMicrosecond);
        benchmark::RegisterBenchmark(bench_name("hot", impl, s, threads).c_str(), bm_raw, impl, s, threads, false)
            ->UseRealTime()
            ->Unit(benchmark::kMicrosecond);
      }
    }
  }
}

}  // namespace
}  // namespace kcs::bench

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  kcs::bench::add_cpu_context();
  kcs::bench::register_limits_benchmark({1, 2});  // first, so the limits head the table
  kcs::bench::register_q8();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
