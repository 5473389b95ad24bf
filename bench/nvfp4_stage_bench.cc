// K4 NVFP4 staging kernel (spec §6) at DeepSeek V4 shapes: BF16 hidden rows in, packed E2M1
// codes + UE4M3 scales out, top-k ids (int32 -> int64) and weights copied; default modes (ties
// away, staging-exact scales). Reference and every ISA variant side by side, 1 and 2 threads.
//
// Shapes (M tokens x K hidden, top_k 6): K = 7168 (V4-Pro) and 4096 (V4-Flash);
// M = 1, 16, 128, 4096 (decode batch to prefill chunk).
//
// Variants (names nvfp4_stage/<mode>:<impl>/M:m/K:k/threads:T):
//   api:*   kcs::make_builtin_backend(impl)->run(): what users run, including validate_call();
//           one buffer, so it stays in cache when it fits (M <= 128: 1.8 MiB of BF16);
//   cold:*  the optimized adapter's work split (16-token tiles, whole rows, top-k copy in the
//           same item) or the reference per token, each iteration on a different copy of the
//           inputs out of a 256 MiB pool (8x L3), so data streams from DRAM as the limit assumes.
// The reference is single-threaded: it runs at threads:1 only.
//
// Counters: bytes_per_second counts the bytes the kernel must move (read 2K + 8 top_k, write
// K/2 + K/16 + 12 top_k per token); ops_per_second counts quantized elements; frac_of_limit =
// (bytes / read bandwidth measured in this process) / achieved time.
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
#include "kcs/kernels/nvfp4_stage.h"
#include "optimized/nvfp4_quant.h"
#include "optimized/nvfp4_stage.h"
#include "reference/primitives.h"

namespace kcs::bench {
namespace {

struct Shape {
  int64_t m, k;
};

constexpr Shape kShapes[] = {{1, 7168}, {16, 7168}, {128, 7168}, {4096, 7168},
                             {1, 4096}, {16, 4096}, {128, 4096}, {4096, 4096}};
constexpr int kThreads[] = {1, 2};
constexpr int64_t kTopK = 6;
constexpr int64_t kRowTile = 16;  // the declaration's default row_tile (block_k default: whole row)

Work stage_work(const Shape& s) {
  Work w;
  w.bytes = static_cast<double>(s.m) * static_cast<double>(s.k * 2 + s.k / 2 + s.k / 16 + kTopK * (4 + 4 + 8 + 4));
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

void fill_topk(int32_t* ids, float* w, int64_t count) {
  for (int64_t i = 0; i < count; ++i) {
    ids[i] = static_cast<int32_t>((i * 37) % 384);
    w[i] = 1.0f / static_cast<float>(kTopK);
  }
}

struct Pool {
  static constexpr int64_t kElems = int64_t{128} << 20;  // 256 MiB of BF16 + 72 MiB of codes
  static constexpr int64_t kMaxTokens = kElems / 4096;   // top-k rows for the smallest K
  uint16_t* x = nullptr;
  uint8_t* fp4 = nullptr;
  int32_t* sf = nullptr;
  int32_t* ids = nullptr;
  float* w = nullptr;
  int64_t* idx_out = nullptr;
  float* w_out = nullptr;
};

const Pool& pool() {
  static const Pool p = [] {
    Pool q;
    q.x = static_cast<uint16_t*>(alloc_stream_buffer(Pool::kElems * 2));
    q.fp4 = static_cast<uint8_t*>(alloc_stream_buffer(Pool::kElems / 2));
    q.sf = static_cast<int32_t*>(alloc_stream_buffer(Pool::kElems / 16));
    const int64_t n = Pool::kMaxTokens * kTopK;
    q.ids = static_cast<int32_t*>(alloc_stream_buffer(static_cast<size_t>(n) * 4));
    q.w = static_cast<float*>(alloc_stream_buffer(static_cast<size_t>(n) * 4));
    q.idx_out = static_cast<int64_t*>(alloc_stream_buffer(static_cast<size_t>(n) * 8));
    q.w_out = static_cast<float*>(alloc_stream_buffer(static_cast<size_t>(n) * 4));
    fill_bf16(q.x, Pool::kElems, 1);
    fill_topk(q.ids, q.w, n);
    std::fill(q.fp4, q.fp4 + Pool::kElems / 2, uint8_t{0});
    std::fill(q.sf, q.sf + Pool::kElems / 64, 0);
    std::fill(q.idx_out, q.idx_out + n, int64_t{0});
    std::fill(q.w_out, q.w_out + n, 0.0f);
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
  const KernelDecl& decl = kernel_or_throw("nvfp4_stage");
  Problem p;
  p.kernel = "nvfp4_stage";
  p.dims = {{"M", s.m}, {"K", s.k}, {"top_k", kTopK}};
  p = complete_problem(decl, p);
  TensorMap tensors;
  for (const auto& td : decl.tensors) tensors[td.name] = make_tensor(decl, p, td.name);
  fill_bf16(tensors["hidden_states"].data<uint16_t>(), s.m * s.k, 2);
  fill_topk(tensors["topk_ids"].data<int32_t>(), tensors["topk_weights"].data<float>(), s.m * kTopK);
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
  add_roofline_counters(st, stage_work(s), threads, secs);
}

struct Buffers {
  const uint16_t* x;
  uint8_t* fp4;
  int32_t* sf;
  const int32_t* ids;
  const float* w;
  int64_t* idx_out;
  float* w_out;
};

void run_raw(Impl impl, const Buffers& b, Shape s, int threads, std::vector<float>& row) {
  const Nvfp4Params params;
  if (impl == Impl::reference) {
    for (int64_t r = 0; r < s.m; ++r) {
      nvfp4_widen(b.x + r * s.k, DType::bf16, s.k, row.data());
      nvfp4_row_reference(row.data(), s.k, params, b.fp4 + r * (s.k / 2), b.sf + r * (s.k / 64));
      nvfp4_stage_topk_reference(b.ids + r * kTopK, DType::i32, b.w + r * kTopK, kTopK, b.idx_out + r * kTopK,
                                 b.w_out + r * kTopK);
    }
    return;
  }
  opt::Nvfp4Rows a;
  a.x = b.x;
  a.x_dtype = DType::bf16;
  a.x_stride = s.k;
  a.k = s.k;
  a.params = params;
  a.x_fp4 = b.fp4;
  a.x_sf = b.sf;
  opt::Nvfp4Topk t;
  t.ids = b.ids;
  t.ids_dtype = DType::i32;
  t.weights = b.w;
  t.top_k = kTopK;
  t.idx_out = b.idx_out;
  t.weights_out = b.w_out;
  auto quant = impl == Impl::avx512 ? &opt::nvfp4_quant_avx512 : &opt::nvfp4_quant_avx2;
  auto topk = impl == Impl::avx512 ? &opt::nvfp4_stage_topk_avx512 : &opt::nvfp4_stage_topk_avx2;
  const int64_t tiles = (s.m + kRowTile - 1) / kRowTile, blocks = s.k / 128;
#pragma omp parallel for num_threads(threads) schedule(static)
  for (int64_t i = 0; i < tiles; ++i) {
    const int64_t r0 = i * kRowTile, r1 = std::min(s.m, (i + 1) * kRowTile);
    quant(a, r0, r1, 0, blocks);
    topk(t, r0, r1);
  }
}

void bm_cold(benchmark::State& st, Impl impl, Shape s, int threads) {
  if (const std::string why = skip_reason(impl); !why.empty()) {
    st.SkipWithError(why.c_str());
    return;
  }
  const Pool& p = pool();
  const int64_t per = s.m * s.k;
  const int64_t copies = std::max<int64_t>(1, Pool::kElems / per);
  std::vector<float> row(static_cast<size_t>(s.k));
  measure_limits(threads);
  int64_t c = 0;
  const double t0 = now_seconds();
  for (auto _ : st) {
    const int64_t tk = c * s.m * kTopK;
    const Buffers b{p.x + c * per, p.fp4 + c * per / 2, p.sf + c * per / 64, p.ids + tk, p.w + tk,
                    p.idx_out + tk, p.w_out + tk};
    run_raw(impl, b, s, threads, row);
    benchmark::ClobberMemory();
    if (++c == copies) c = 0;
  }
  add_roofline_counters(st, stage_work(s), threads, now_seconds() - t0);
}

std::string bench_name(const char* mode, Impl impl, Shape s, int threads) {
  return std::string("nvfp4_stage/") + mode + ":" + impl_name(impl) + "/M:" + std::to_string(s.m) +
         "/K:" + std::to_string(s.k) + "/threads:" + std::to_string(threads);
}

void register_stage() {
  for (const Shape& s : kShapes)
    for (int threads : kThreads)
      for (Impl impl : {Impl::reference, Impl::avx512, Impl::avx2}) {
        if (impl == Impl::reference && threads != 1) continue;
        benchmark::RegisterBenchmark(bench_name("api", impl, s, threads).c_str(), bm_api, impl, s, threads)
            ->UseRealTime()
            ->Unit(benchmark::kMicrosecond);
        benchmark::RegisterBenchmark(bench_name("cold", impl, s, threads).c_str(), bm_cold, impl, s, threads)
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
  kcs::bench::register_stage();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
