// NVFP4 quantizer (spec §6.3, the K4 staging coder) at DeepSeek V4 shapes: BF16 rows in, packed
// E2M1 codes + UE4M3 scales out, default modes (ties away, staging-exact scales). Reference and
// every ISA variant side by side, 1 and 2 OpenMP threads.
//
// Shapes (M tokens x K hidden): K = 4096 (V4-Flash), 7168 (V4-Pro); M = 1, 16, 128, 1024, 4096
// (decode batch to prefill chunk).
//
// Variants (names nvfp4/<mode>:<impl>/M:m/K:k/threads:T):
//   api:*   kcs::make_builtin_backend(impl)->run(): what users run, including validate_call();
//   cold:*  opt::nvfp4_quant_* with the adapter's default work split (16-row tiles, whole rows)
//           or nvfp4_row_reference per row; every iteration works on a different copy of the
//           input out of a 256 MiB pool (8x L3), so data streams from DRAM as the limit assumes;
//   hot:*   the same calls on one buffer that stays in cache between iterations.
// The reference is single-threaded: it runs at threads:1 only.
//
// Counters: bytes_per_second counts the bytes the kernel must move (read 2K + write K/2 codes +
// K/16 scale bytes per row); ops_per_second counts quantized elements; frac_of_limit =
// (bytes / read bandwidth measured in this process) / achieved time (<= 1 for cold data; hot
// data can exceed it).
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
#include "kcs/kernels/nvfp4_quant.h"
#include "optimized/nvfp4_quant.h"
#include "reference/primitives.h"

namespace kcs::bench {
namespace {

struct Shape {
  int64_t m, k;
};

constexpr Shape kShapes[] = {
    {1, 4096}, {16, 4096}, {128, 4096}, {1024, 4096}, {4096, 4096},  // V4-Flash hidden
    {1, 7168}, {16, 7168}, {128, 7168}, {1024, 7168}, {4096, 7168},  // V4-Pro hidden
};
constexpr int kThreads[] = {1, 2};
constexpr int64_t kRowTile = 16;  // the declaration's default row_tile (block_k default: whole row)

Work nvfp4_work(const Shape& s) {
  Work w;
  w.bytes = static_cast<double>(s.m) * static_cast<double>(s.k * 2 + s.k / 2 + s.k / 16);
  w.ops = static_cast<double>(s.m * s.k);
  w.peak = Peak::none;  // bandwidth bound
  return w;
}

// Activation-like BF16 values: random sign and mantissa, magnitudes 2^-9 .. 2^2 (xorshift).
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

struct Pool {
  static constexpr int64_t kElems = int64_t{128} << 20;  // 256 MiB of BF16 + 64 MiB of codes
  uint16_t* x = nullptr;
  uint8_t* fp4 = nullptr;
  int32_t* sf = nullptr;
};

const Pool& pool() {
  static const Pool p = [] {
    Pool q;
    q.x = static_cast<uint16_t*>(alloc_stream_buffer(Pool::kElems * 2));
    q.fp4 = static_cast<uint8_t*>(alloc_stream_buffer(Pool::kElems / 2));
    q.sf = static_cast<int32_t*>(alloc_stream_buffer(Pool::kElems / 16));
    fill_bf16(q.x, Pool::kElems, 1);
    std::fill(q.fp4, q.fp4 + Pool::kElems / 2, uint8_t{0});
    std::fill(q.sf, q.sf + Pool::kElems / 64, 0);
    return q;
  }();
  return p;
}

void bm_api(benchmark::State& st, Impl impl, Shape s, int threads) {
  if (const std::string why = skip_reason(impl); !why.empty()) {
    st.SkipWithError(why.c_str());
    return;
  }
  std::unique_ptr<Backend> backend = make_builtin_backend(impl_name(impl));
  const KernelDecl& decl = kernel_or_throw("nvfp4_quant");
  Problem p;
  p.kernel = "nvfp4_quant";
  p.dims = {{"M", s.m}, {"K", s.k}};
  p = complete_problem(decl, p);
  TensorMap tensors;
  for (const char* name : {"x", "x_fp4", "x_sf"}) tensors[name] = make_tensor(decl, p, name);
  fill_bf16(tensors["x"].data<uint16_t>(), s.m * s.k, 2);
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
  Status last;
  const double t0 = now_seconds();
  for (auto _ : st) {
    last = backend->run(inv);
    benchmark::ClobberMemory();
  }
  const double secs = now_seconds() - t0;
  if (!last) st.SkipWithError(("backend failed: " + last.message).c_str());
  add_roofline_counters(st, nvfp4_work(s), threads, secs);
}

void run_raw(Impl impl, const uint16_t* x, uint8_t* fp4, int32_t* sf, Shape s, int threads, std::vector<float>& row) {
  const Nvfp4Params params;
  if (impl == Impl::reference) {
    for (int64_t r = 0; r < s.m; ++r) {
      nvfp4_widen(x + r * s.k, DType::bf16, s.k, row.data());
      nvfp4_row_reference(row.data(), s.k, params, fp4 + r * (s.k / 2), sf + r * (s.k / 64));
    }
    return;
  }
  opt::Nvfp4Rows a;
  a.x = x;
  a.x_dtype = DType::bf16;
  a.x_stride = s.k;
  a.k = s.k;
  a.params = params;
  a.x_fp4 = fp4;
  a.x_sf = sf;
  auto fn = impl == Impl::avx512 ? &opt::nvfp4_quant_avx512 : &opt::nvfp4_quant_avx2;
  const int64_t tiles = (s.m + kRowTile - 1) / kRowTile, blocks = s.k / 128;
#pragma omp parallel for num_threads(threads) schedule(static)
  for (int64_t t = 0; t < tiles; ++t) fn(a, t * kRowTile, std::min(s.m, (t + 1) * kRowTile), 0, blocks);
}

void bm_raw(benchmark::State& st, Impl impl, Shape s, int threads, bool cold) {
  if (const std::string why = skip_reason(impl); !why.empty()) {
    st.SkipWithError(why.c_str());
    return;
  }
  const Pool& p = pool();
  const int64_t per = s.m * s.k;
  const int64_t copies = cold ? std::max<int64_t>(1, Pool::kElems / per) : 1;
  std::vector<float> row(static_cast<size_t>(s.k));
  measure_limits(threads);
  int64_t c = 0;
  const double t0 = now_seconds();
  for (auto _ : st) {
    run_raw(impl, p.x + c * per, p.fp4 + c * per / 2, p.sf + c * per / 64, s, threads, row);
    benchmark::ClobberMemory();
    if (++c == copies) c = 0;
  }
  add_roofline_counters(st, nvfp4_work(s), threads, now_seconds() - t0);
}

std::string bench_name(const char* mode, Impl impl, Shape s, int threads) {
  return std::string("nvfp4/") + mode + ":" + impl_name(impl) + "/M:" + std::to_string(s.m) +
         "/K:" + std::to_string(s.k) + "/threads:" + std::to_string(threads);
}

void register_nvfp4() {
  for (const Shape& s : kShapes) {
    for (int threads : kThreads) {
      for (Impl impl : {Impl::reference, Impl::avx512, Impl::avx2}) {
        if (impl == Impl::reference && threads != 1) continue;
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
  kcs::bench::register_limits_benchmark({1, 2});
  kcs::bench::register_nvfp4();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
