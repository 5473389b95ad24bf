// Norms and RoPE (spec §1.3, §1.4) at DeepSeek shapes. Reference and every ISA variant side by
// side, 1 and 2 OpenMP threads. All three kernels are bandwidth bound (a few flops per element):
// frac_of_limit compares with the read bandwidth measured in this process.
//
// Shapes:
//   rmsnorm pypto  rows (tokens) 1, 16, 128, 1024 x n 1536 (K2 cq) and 512 (K2 ckv)
//   rmsnorm v4     rows (compressed blocks) 16, 1024 x n 512 (V4 compressor C) and 128 (C_I)
//   layernorm      rows 1, 16, 128, 1024, 8192 x n 128 (K1 kf)
//   rope half      T 1, 16, 128 x H 64 x D 128, R 64, BF16 [T, 64] tables (K1 q heads)
//   rope v2        T 1, 16, 128 x H 128 x D 64 (K2 q_rope)
//   rope pair      T 1, 16, 128 x H 64 x D 128, R 64 on the last columns, FP32 [T, 32] (K3 q)
//   rope pair      T 16, 512 x H 1 x D 512 (K5 main-head compressed rows)
//
// Variants (names <kernel>/<mode>:<impl>/<shape>/threads:T):
//   api:*   make_builtin_backend(impl)->run(): what users run (declaration checks included),
//           on one buffer that stays in cache between iterations;
//   cold:*  the ISA row / token kernels with the adapter's tiling (16 rows or tokens per OpenMP
//           work item), every iteration on a different copy of the inputs and outputs out of a
//           128 MiB pool (4x L3), so data streams from DRAM as the bandwidth limit assumes.
// The reference is single-threaded (it ignores the thread count): it runs at threads:1 only.
//
// Counters: bytes_per_second counts the bytes a kernel must move (inputs read + outputs written,
// tables and gamma/beta included); ops_per_second counts output elements; frac_of_limit =
// (bytes / read bandwidth of this process) / achieved time.
#include <benchmark/benchmark.h>
#include <omp.h>

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
#include "optimized/layernorm.h"
#include "optimized/rmsnorm.h"
#include "optimized/rope.h"

namespace kcs::bench {
namespace {

// Moderate BF16 values (exponents 2^-9 .. 2^2, random sign and mantissa). Any 4-byte-aligned
// read of two of them is a moderate finite binary32 too (the high word is a moderate BF16), so one
// fill serves BF16 and FP32 tensors alike.
void fill_moderate(uint16_t* x, int64_t count, uint64_t seed) {
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

// The cold pool: inputs and outputs of many calls, each touched once per pass.
struct Pool {
  static constexpr size_t kInBytes = size_t{128} << 20;
  static constexpr size_t kOutBytes = size_t{64} << 20;
  uint8_t* in = nullptr;
  uint8_t* out = nullptr;
};

const Pool& pool() {
  static const Pool p = [] {
    Pool q;
    q.in = static_cast<uint8_t*>(alloc_stream_buffer(Pool::kInBytes));
    q.out = static_cast<uint8_t*>(alloc_stream_buffer(Pool::kOutBytes));
    fill_moderate(reinterpret_cast<uint16_t*>(q.in), static_cast<int64_t>(Pool::kInBytes / 2), 1);
    std::memset(q.out, 0, Pool::kOutBytes);
    return q;
  }();
  return p;
}

size_t round64(size_t b) { return (b + 63) / 64 * 64; }

// One benchmark case: a problem of a kernel and how to call its ISA kernels on raw pointers.
struct Case {
  std::string kernel, label;
  Problem problem;
  Work work;
  size_t in_bytes = 0, out_bytes = 0;  // per call, for the cold pool
  // Runs the ISA kernel on inputs at `in` (laid out as the case's make_raw describes) writing `out`.
  void (*raw)(const Case&, Isa, const uint8_t* in, uint8_t* out, int threads) = nullptr;
};

constexpr int64_t kTile = 16;

template <class Fn>
void tiles(int64_t count, int threads, Fn fn) {
  const int64_t n = (count + kTile - 1) / kTile;
#pragma omp parallel for num_threads(threads) schedule(static)
  for (int64_t t = 0; t < n; ++t) fn(t * kTile, std::min(count, (t + 1) * kTile));
}

// Raw layouts: rmsnorm [x bf16 rows*n | gamma n]; layernorm [x f32 rows*n | gamma | beta];
// rope [x bf16 T*H*D | cos T*W | sin T*W]; each part 64-byte aligned.
void raw_rmsnorm(const Case& c, Isa isa, const uint8_t* in, uint8_t* out, int threads) {
  const int64_t rows = c.problem.dim("rows"), n = c.problem.dim("n");
  opt::RmsNormRows a;
  a.x = reinterpret_cast<const uint16_t*>(in);
  a.gamma = in + round64(static_cast<size_t>(rows * n) * 2);
  a.gamma_f32 = c.problem.attr("form") == "v4";
  a.form = a.gamma_f32 ? RmsNormForm::v4 : RmsNormForm::pypto;
  a.n = n;
  a.eps = 1e-6f;
  a.inv_n = static_cast<float>(1.0 / static_cast<double>(n));
  a.fn = static_cast<float>(n);
  a.y = reinterpret_cast<uint16_t*>(out);
  auto fn = isa == Isa::avx512 ? &opt::rmsnorm_rows_avx512 : &opt::rmsnorm_rows_avx2;
  tiles(rows, threads, [&](int64_t b, int64_t e) { fn(a, b, e); });
}

void raw_layernorm(const Case& c, Isa isa, const uint8_t* in, uint8_t* out, int threads) {
  const int64_t rows = c.problem.dim("rows"), n = c.problem.dim("n");
  opt::LayerNormRows a;
  a.x = reinterpret_cast<const float*>(in);
  a.gamma = reinterpret_cast<const uint16_t*>(in + round64(static_cast<size_t>(rows * n) * 4));
  a.beta = a.gamma + round64(static_cast<size_t>(n) * 2) / 2;
  a.n = n;
  a.eps = 1e-6f;
  a.inv_n = static_cast<float>(1.0 / static_cast<double>(n));
  a.y = reinterpret_cast<uint16_t*>(out);
  auto fn = isa == Isa::avx512 ? &opt::layernorm_rows_avx512 : &opt::layernorm_rows_avx2;
  tiles(rows, threads, [&](int64_t b, int64_t e) { fn(a, b, e); });
}

void raw_rope(const Case& c, Isa isa, const uint8_t* in, uint8_t* out, int threads) {
  const Problem& p = c.problem;
  const int64_t T = p.dim("T"), H = p.dim("H"), D = p.dim("D"), R = p.dim("R"), W = p.dim("W");
  const bool f32 = p.attr("table_dtype") == "float32";
  const size_t tbytes = round64(static_cast<size_t>(T * W) * (f32 ? 4 : 2));
  opt::RopeArgs a;
  a.x = reinterpret_cast<const uint16_t*>(in);
  a.y = reinterpret_cast<uint16_t*>(out);
  a.H = H;
  a.D = D;
  a.R = R;
  a.off = p.attr("slice") == "last" ? D - R : 0;
  a.mode = p.attr("mode") == "pair" ? RopeMode::pair : (p.attr("mode") == "v2" ? RopeMode::v2 : RopeMode::half);
  a.cos = in + round64(static_cast<size_t>(T * H * D) * 2);
  a.sin = static_cast<const uint8_t*>(a.cos) + tbytes;
  a.table_f32 = f32;
  a.half_table = p.attr("table") == "half";
  auto fn = isa == Isa::avx512 ? &opt::rope_tokens_avx512 : &opt::rope_tokens_avx2;
  tiles(T, threads, [&](int64_t b, int64_t e) { fn(a, b, e); });
}

Problem make_problem(const std::string& kernel, Dims dims, Attrs attrs) {
  Problem p;
  p.kernel = kernel;
  p.dims = std::move(dims);
  p.attrs = std::move(attrs);
  p = complete_problem(kernel_or_throw(kernel), p);
  const Status s = validate_problem(kernel_or_throw(kernel), p);
  if (!s) throw Error(s.message);
  return p;
}

std::vector<Case> all_cases() {
  std::vector<Case> v;
  auto norm = [&](const std::string& kernel, const std::string& mode, int64_t rows, int64_t n, Attrs attrs) {
    Case c;
    c.kernel = kernel;
    c.label = kernel + "/" + mode;
    c.problem = make_problem(kernel, {{"rows", rows}, {"n", n}}, std::move(attrs));
    const bool ln = kernel == "layernorm";
    const size_t xb = ln ? 4 : 2, gb = (mode == "v4") ? 4 : 2;
    const double elems = static_cast<double>(rows * n);
    c.work.bytes = elems * static_cast<double>(xb + 2) + static_cast<double>(n) * static_cast<double>(ln ? 4 : gb);
    c.work.ops = elems;
    c.in_bytes = round64(static_cast<size_t>(rows * n) * xb) + 2 * round64(static_cast<size_t>(n) * 4);
    c.out_bytes = round64(static_cast<size_t>(rows * n) * 2);
    c.raw = ln ? &raw_layernorm : &raw_rmsnorm;
    v.push_back(c);
  };
  for (int64_t n : {1536, 512})
    for (int64_t rows : {1, 16, 128, 1024}) norm("rmsnorm", "pypto", rows, n, {{"form", "pypto"}});
  for (int64_t n : {512, 128})
    for (int64_t rows : {16, 1024}) norm("rmsnorm", "v4", rows, n, {{"form", "v4"}, {"gamma_dtype", "float32"}});
  for (int64_t rows : {1, 16, 128, 1024, 8192}) norm("layernorm", "k1", rows, 128, {});

  auto rope = [&](const std::string& mode, int64_t T, int64_t H, int64_t D, Attrs attrs) {
    Case c;
    c.kernel = "rope";
    c.label = "rope/" + mode;
    const bool half = attrs.count("table") && attrs.at("table") == "half";
    const bool f32 = attrs.count("table_dtype") && attrs.at("table_dtype") == "float32";
    const int64_t R = 64, W = half ? R / 2 : R;
    c.problem = make_problem("rope", {{"T", T}, {"H", H}, {"D", D}, {"R", R}, {"W", W}}, std::move(attrs));
    const size_t tb = static_cast<size_t>(T * W) * (f32 ? 4 : 2);
    c.work.bytes = static_cast<double>(T * H * D) * 4 + 2 * static_cast<double>(tb);
    c.work.ops = static_cast<double>(T * H * D);
    c.in_bytes = round64(static_cast<size_t>(T * H * D) * 2) + 2 * round64(tb);
    c.out_bytes = round64(static_cast<size_t>(T * H * D) * 2);
    c.raw = &raw_rope;
    v.push_back(c);
  };
  for (int64_t T : {1, 16, 128}) rope("half_k1", T, 64, 128, {});
  for (int64_t T : {1, 16, 128}) rope("v2_k2", T, 128, 64, {{"mode", "v2"}});
  const Attrs pair = {{"mode", "pair"}, {"table", "half"}, {"table_dtype", "float32"}, {"slice", "last"}};
  for (int64_t T : {1, 16, 128}) rope("pair_k3", T, 64, 128, pair);
  for (int64_t T : {16, 512}) rope("pair_k5", T, 1, 512, pair);
  return v;
}

std::string shape_name(const Case& c) {
  std::string s;
  for (const auto& [k, v] : c.problem.dims) s += (s.empty() ? "" : "/") + k + ":" + std::to_string(v);
  return s;
}

// Through the public backend API, on cached data.
void bm_api(benchmark::State& st, Impl impl, Case c, int threads) {
  if (const std::string why = skip_reason(impl); !why.empty()) {
    st.SkipWithError(why.c_str());
    return;
  }
  std::unique_ptr<Backend> backend = make_builtin_backend(impl_name(impl));
  const KernelDecl& decl = kernel_or_throw(c.kernel);
  TensorMap tensors;
  uint64_t seed = 2;
  for (const auto& td : decl.tensors) {
    Tensor t = make_tensor(decl, c.problem, td.name);
    fill_moderate(static_cast<uint16_t*>(t.raw()), static_cast<int64_t>(t.nbytes() / 2), seed++);
    tensors[td.name] = std::move(t);
  }
  Invocation inv;
  inv.decl = &decl;
  inv.problem = &c.problem;
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
  add_roofline_counters(st, c.work, threads, secs);
}

// The ISA kernels on raw pointers, a new copy of the data every iteration.
void bm_cold(benchmark::State& st, Impl impl, Case c, int threads) {
  if (const std::string why = skip_reason(impl); !why.empty()) {
    st.SkipWithError(why.c_str());
    return;
  }
  const Isa isa = impl == Impl::avx512 ? Isa::avx512 : Isa::avx2;
  const Pool& p = pool();
  const size_t copies = std::max<size_t>(1, std::min(Pool::kInBytes / c.in_bytes, Pool::kOutBytes / c.out_bytes));
  measure_limits(threads);
  size_t k = 0;
  const double t0 = now_seconds();
  for (auto _ : st) {
    c.raw(c, isa, p.in + k * c.in_bytes, p.out + k * c.out_bytes, threads);
    benchmark::ClobberMemory();
    if (++k == copies) k = 0;
  }
  add_roofline_counters(st, c.work, threads, now_seconds() - t0);
}

void register_all() {
  for (const Case& c : all_cases())
    for (int threads : {1, 2})
      for (Impl impl : {Impl::reference, Impl::avx512, Impl::avx2}) {
        const std::string tail = std::string(impl_name(impl)) + "/" + shape_name(c) + "/threads:" + std::to_string(threads);
        if (impl == Impl::reference && threads != 1) continue;
        benchmark::RegisterBenchmark((c.label + "/api:" + tail).c_str(), bm_api, impl, c, threads)
            ->UseRealTime()
            ->Unit(benchmark::kMicrosecond);
        if (impl == Impl::reference) continue;
        benchmark::RegisterBenchmark((c.label + "/cold:" + tail).c_str(), bm_cold, impl, c, threads)
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
