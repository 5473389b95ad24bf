// BF16 GEMM (gemm_bf16, spec §13 "BF16 GEMMs") at DeepSeek shapes: reference and every ISA
// engine side by side, 1 and 2 OpenMP threads.
//
// Shapes (B x (M x K) x (K x N), output):
//   wk     1 x (M x 7168) x (7168 x 128),  fp32   K1 kf = x·wk
//   w_proj 1 x (M x 7168) x (7168 x 64),   bf16   K1 wb = x·w_proj
//   w_dq   1 x (M x 7168) x (7168 x 1536), bf16   K2 qa = x·w_dq
//   w_uk   64 x (M x 128) x (128 x 512),   bf16   K2 q_nope·w_uk per head
//   hadamard 1 x (M x 128) x (128 x 128),  bf16   the dense Hadamard (M = tokens x heads)
// with M = 1 (decode), 16, 128 and 1024 (prefill).
//
// Variants (names gemm_bf16/<mode>:<impl>/<shape>/M:<m>/threads:<t>):
//   cold:*  the engine with prepacked weights (opt::gemm_bf16_run, its auto tiling for the thread
//           count), every iteration on a different copy of the packed W out of a >= 128 MiB pool
//           (4x L3), so W streams from DRAM as the bandwidth limit assumes. A and y are reused.
//           The reference (gemm_bf16_reference + the rounding, single-threaded) runs at M = 1
//           and 16 only: at M = 1024 it takes seconds per call.
//   api:*   kcs::make_builtin_backend(impl)->run(): what users run, including validate_call()
//           and packing W on every call (the Invocation path; fused kernels pack once).
//
// Counters: bytes = W (B·K·N·2) + A (B·M·K·2) + y (B·M·N·size); ops = 2·B·M·K·N (flop);
// frac_of_limit = max(bytes / read bandwidth, ops / vdpbf16ps peak) / time, both limits
// measured in this process (bench/limits.h). AVX2 has no BF16 dot instruction, so its frac at
// large M is bounded by the FMA / BF16 peak ratio (about 0.5 on AVX-512 machines).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "bench/limits.h"
#include "kcs/backend.h"
#include "kcs/cpu.h"
#include "kcs/decl.h"
#include "kcs/formats.h"
#include "kcs/kernels/gemm_bf16.h"
#include "optimized/gemm_bf16.h"
#include "reference/primitives.h"

namespace kcs::bench {
namespace {

struct Shape {
  const char* name;
  int64_t b, k, n;
  DType out;
};

constexpr Shape kShapes[] = {
    {"wk", 1, 7168, 128, DType::fp32},
    {"w_proj", 1, 7168, 64, DType::bf16},
    {"w_dq", 1, 7168, 1536, DType::bf16},
    {"w_uk", 64, 128, 512, DType::bf16},
    {"hadamard", 1, 128, 128, DType::bf16},
};
constexpr int64_t kMs[] = {1, 16, 128, 1024};
constexpr int kThreads[] = {1, 2};
constexpr size_t kPoolBytes = size_t{128} << 20;

Work gemm_work(const Shape& s, int64_t m) {
  Work w;
  const double out = s.out == DType::fp32 ? 4 : 2;
  w.bytes = 2.0 * s.b * s.k * s.n + 2.0 * s.b * m * s.k + out * s.b * m * s.n;
  w.ops = 2.0 * s.b * m * s.k * s.n;
  w.peak = Peak::bf16;
  return w;
}

// Activation / weight-like BF16 values: random sign and mantissa, magnitudes 2^-9 .. 2^2.
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

struct Problem3 {
  std::vector<uint16_t> a, w;
  std::vector<char> y;
};

Problem3 make_data(const Shape& s, int64_t m) {
  Problem3 p;
  p.a.resize(static_cast<size_t>(s.b * m * s.k));
  p.w.resize(static_cast<size_t>(s.b * s.k * s.n));
  p.y.resize(static_cast<size_t>(s.b * m * s.n) * (s.out == DType::fp32 ? 4 : 2));
  fill_bf16(p.a.data(), static_cast<int64_t>(p.a.size()), 1);
  fill_bf16(p.w.data(), static_cast<int64_t>(p.w.size()), 2);
  return p;
}

opt::GemmBf16Args engine_args(const Shape& s, int64_t m, Problem3& p) {
  opt::GemmBf16Args g;
  g.batch = s.b;
  g.m = m;
  g.k = s.k;
  g.n = s.n;
  g.a = p.a.data();
  g.lda = s.k;
  g.a_batch_stride = m * s.k;
  g.y = p.y.data();
  g.ldy = s.n;
  g.y_batch_stride = m * s.n;
  g.y_dtype = s.out;
  return g;
}

void run_reference(const Shape& s, int64_t m, Problem3& p, std::vector<double>& tmp) {
  tmp.resize(static_cast<size_t>(m * s.n));
  const size_t es = s.out == DType::fp32 ? 4 : 2;
  for (int64_t b = 0; b < s.b; ++b) {
    GemmBf16RefArgs g;
    g.m = m;
    g.k = s.k;
    g.n = s.n;
    g.a = p.a.data() + b * m * s.k;
    g.lda = s.k;
    g.w = p.w.data() + b * s.k * s.n;
    g.ldw = s.n;
    gemm_bf16_reference(g, 0, m, tmp.data(), s.n);
    for (int64_t e = 0; e < m * s.n; ++e)
      gemm_bf16_store_rounded(tmp[static_cast<size_t>(e)], s.out, p.y.data() + static_cast<size_t>(b * m * s.n + e) * es);
  }
}

void bm_cold(benchmark::State& st, Impl impl, Shape s, int64_t m, int threads) {
  if (const std::string why = skip_reason(impl); !why.empty()) {
    st.SkipWithError(why.c_str());
    return;
  }
  Problem3 p = make_data(s, m);
  measure_limits(threads);
  if (impl == Impl::reference) {
    std::vector<double> tmp;
    const double t0 = now_seconds();
    for (auto _ : st) {
      run_reference(s, m, p, tmp);
      benchmark::ClobberMemory();
    }
    add_roofline_counters(st, gemm_work(s, m), threads, now_seconds() - t0);
    return;
  }
  const Isa isa = impl == Impl::avx512 ? Isa::avx512 : Isa::avx2;
  const opt::PackedBf16Weights packed = opt::pack_bf16_weights(p.w.data(), s.b, s.k, s.n, s.n, s.k * s.n, threads);
  const size_t wbytes = packed.bytes();
  const size_t copies = std::max<size_t>(2, (kPoolBytes + wbytes - 1) / wbytes);
  const size_t stride = (wbytes + 4095) / 4096 * 4096;
  char* pool = static_cast<char*>(alloc_stream_buffer(copies * stride));
  for (size_t c = 0; c < copies; ++c) std::memcpy(pool + c * stride, packed.view().data, wbytes);
  opt::GemmBf16Args g = engine_args(s, m, p);
  const opt::GemmBf16Tiling t = opt::gemm_bf16_auto_tiling(s.b, m, s.n, threads);
  opt::PackedBf16View v = packed.view();
  size_t c = 0;
  const double t0 = now_seconds();
  for (auto _ : st) {
    v.data = reinterpret_cast<const uint32_t*>(pool + c * stride);
    opt::gemm_bf16_run(isa, g, v, t, threads);
    benchmark::ClobberMemory();
    if (++c == copies) c = 0;
  }
  add_roofline_counters(st, gemm_work(s, m), threads, now_seconds() - t0);
  std::free(pool);
}

void bm_api(benchmark::State& st, Impl impl, Shape s, int64_t m, int threads) {
  if (const std::string why = skip_reason(impl); !why.empty()) {
    st.SkipWithError(why.c_str());
    return;
  }
  std::unique_ptr<Backend> backend = make_builtin_backend(impl_name(impl));
  const KernelDecl& decl = kernel_or_throw("gemm_bf16");
  Problem pr;
  pr.kernel = "gemm_bf16";
  pr.dims = {{"B", s.b}, {"M", m}, {"K", s.k}, {"N", s.n}};
  pr.attrs = {{"out_dtype", dtype_name(s.out)}};
  pr = complete_problem(decl, pr);
  TensorMap tensors;
  for (const char* name : {"a", "w", "y"}) tensors[name] = make_tensor(decl, pr, name);
  fill_bf16(tensors["a"].data<uint16_t>(), tensors["a"].numel(), 1);
  fill_bf16(tensors["w"].data<uint16_t>(), tensors["w"].numel(), 2);
  Invocation inv;
  inv.decl = &decl;
  inv.problem = &pr;
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
  add_roofline_counters(st, gemm_work(s, m), threads, secs);
}

std::string bench_name(const char* mode, Impl impl, const Shape& s, int64_t m, int threads) {
  return std::string("gemm_bf16/") + mode + ":" + impl_name(impl) + "/" + s.name + "/M:" + std::to_string(m) +
         "/threads:" + std::to_string(threads);
}

void register_gemm_bf16() {
  for (const Shape& s : kShapes) {
    for (int64_t m : kMs) {
      for (int threads : kThreads) {
        for (Impl impl : {Impl::reference, Impl::avx512, Impl::avx2}) {
          if (impl == Impl::reference && (threads != 1 || m > 16)) continue;  // single-threaded, slow
          benchmark::RegisterBenchmark(bench_name("cold", impl, s, m, threads).c_str(), bm_cold, impl, s, m, threads)
              ->UseRealTime()
              ->Unit(benchmark::kMicrosecond);
          if (impl != Impl::reference && m <= 16)
            benchmark::RegisterBenchmark(bench_name("api", impl, s, m, threads).c_str(), bm_api, impl, s, m, threads)
                ->UseRealTime()
                ->Unit(benchmark::kMicrosecond);
        }
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
  kcs::bench::register_gemm_bf16();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
