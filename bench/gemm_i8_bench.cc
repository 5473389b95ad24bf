// INT8 GEMM + dequant (spec §1.2) at DeepSeek shapes: A [M, K] int8 x W [K, N] int8 -> acc int32
// and y bf16 (K1's q path: q_norm [t, 1536] x w_qb [1536, 8192]; K3 V4-Flash qr: 1024 x 8192).
// Reference and every ISA variant side by side, 1 and 2 OpenMP threads.
//
// Variants (names gemm_i8/<variant>:<impl>/m:M/k:K/n:N/threads:T):
//   direct:*  opt::gemm_i8_run on row-major W (no set-up; the Invocation path for M < 13)
//   packed:*  opt::gemm_i8_run on weights prepacked once outside the timed loop (what fused
//             kernels with fixed weights run)
//   perpack:* pack W into a reused buffer, then the packed GEMM, every iteration (the Invocation
//             path for M >= 13)
//   pack:*    pack_i8_weights_into alone (the per-call cost perpack pays)
//   api:*     the backend through Backend::run(), with validate_call(), as users call it
//   ref       gemm_i8_reference, single-threaded, small M only (it needs ~1 ns per MAC)
// Weights stream from DRAM: every iteration uses another copy of W (and of the packed W) out
// of a pool of >= 96 MiB (3x L3), huge-page backed like the read-bandwidth probe's buffer.
// A, the scales and the outputs are one copy (the output is written, acc + y, every iteration).
//
// Counters: bytes = W (K·N) + A (M·K) + acc (4·M·N) + y (2·M·N) (+ scales), the bytes that must
// cross the memory interface; ops = 2·M·K·N (multiply + add per MAC, as the VNNI probe counts);
// frac_of_limit = max(bytes / read_gbs, ops / vnni_gops) / time with both limits measured in this
// process (limits/threads:T rows). M = 1 is bandwidth bound; M = 1024 compute bound.
// pack: bytes = 2·K·N (read W, write packed), no ops.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "bench/limits.h"
#include "kcs/backend.h"
#include "kcs/cpu.h"
#include "kcs/decl.h"
#include "kcs/kernels/gemm_i8.h"
#include "optimized/gemm_i8.h"
#include "reference/primitives.h"

namespace kcs::bench {
namespace {

struct Shape {
  int64_t m, k, n;
};

constexpr Shape kShapes[] = {
    {1, 1536, 8192},   {4, 1536, 8192},    {16, 1536, 8192}, {32, 1536, 8192},
    {128, 1536, 8192}, {1024, 1536, 8192}, {1, 1024, 8192},  // K3 V4-Flash qr x wq_b
};
constexpr int kThreads[] = {1, 2};
constexpr int64_t kPoolBytes = int64_t{96} << 20;
constexpr int64_t kRefMaxM = 4;  // the reference needs ~1 ns per MAC: 50 ms per row here

Isa impl_isa(Impl i) { return i == Impl::avx512 ? Isa::avx512 : Isa::avx2; }

void fill_i8(int8_t* p, int64_t count, uint64_t seed) {
  uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;
  for (int64_t i = 0; i < count; ++i) {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    p[i] = static_cast<int8_t>(s >> 56);
  }
}

// Copies of W and of its packed forms, enough to overflow L3 between two uses of one copy.
struct WeightPool {
  int64_t k = 0, n = 0, copies = 0;
  int8_t* w = nullptr;
  std::map<int, std::vector<opt::PackedI8Weights>> packed;  // by Isa
  const int8_t* copy(int64_t i) const { return w + i * k * n; }
};

WeightPool& pool(int64_t k, int64_t n) {
  static std::map<std::pair<int64_t, int64_t>, std::unique_ptr<WeightPool>> pools;
  auto& p = pools[{k, n}];
  if (!p) {
    p = std::make_unique<WeightPool>();
    p->k = k;
    p->n = n;
    p->copies = std::max<int64_t>(2, kPoolBytes / (k * n) + 1);
    p->w = static_cast<int8_t*>(alloc_stream_buffer(static_cast<size_t>(p->copies * k * n)));
    fill_i8(p->w, p->copies * k * n, 7);
  }
  return *p;
}

const std::vector<opt::PackedI8Weights>& packed_pool(Isa isa, int64_t k, int64_t n) {
  WeightPool& p = pool(k, n);
  auto& v = p.packed[static_cast<int>(isa)];
  if (v.empty())
    for (int64_t i = 0; i < p.copies; ++i) v.push_back(opt::pack_i8_weights(isa, p.copy(i), n, k, n, 2));
  return v;
}

// A, scales and outputs of one shape (one copy: they are small next to W for decode M, and at
// large M the GEMM is compute bound).
struct Operands {
  std::vector<int8_t> a;
  std::vector<float> s_row, s_col;
  std::unique_ptr<int32_t, decltype(&std::free)> acc{nullptr, &std::free};
  std::unique_ptr<uint16_t, decltype(&std::free)> y{nullptr, &std::free};
  GemmI8Args args(const Shape& s, const int8_t* w) {
    GemmI8Args g;
    g.m = s.m;
    g.k = s.k;
    g.n = s.n;
    g.a = a.data();
    g.lda = s.k;
    g.w = w;
    g.ldw = s.n;
    g.s_row = s_row.data();
    g.s_col = s_col.data();
    g.acc = acc.get();
    g.ldacc = s.n;
    g.y = y.get();
    g.ldy = s.n;
    g.y_dtype = DType::bf16;
    return g;
  }
};

Operands make_operands(const Shape& s) {
  Operands o;
  o.a.resize(static_cast<size_t>(s.m * s.k));
  fill_i8(o.a.data(), s.m * s.k, 3);
  o.s_row.assign(static_cast<size_t>(s.m), 0.0123f);
  o.s_col.assign(static_cast<size_t>(s.n), 0.00456f);
  o.acc.reset(static_cast<int32_t*>(alloc_stream_buffer(static_cast<size_t>(s.m * s.n) * 4)));
  o.y.reset(static_cast<uint16_t*>(alloc_stream_buffer(static_cast<size_t>(s.m * s.n) * 2)));
  std::memset(o.acc.get(), 0, static_cast<size_t>(s.m * s.n) * 4);
  std::memset(o.y.get(), 0, static_cast<size_t>(s.m * s.n) * 2);
  return o;
}

Work gemm_work(const Shape& s) {
  Work w;
  w.bytes = static_cast<double>(s.k * s.n + s.m * s.k + s.m * s.n * 6 + (s.m + s.n) * 4);
  w.ops = 2.0 * static_cast<double>(s.m) * static_cast<double>(s.k) * static_cast<double>(s.n);
  w.peak = Peak::vnni;
  return w;
}

enum class Variant { direct, packed, perpack, pack };
const char* variant_name(Variant v) {
  switch (v) {
    case Variant::direct:
      return "direct";
    case Variant::packed:
      return "packed";
    case Variant::perpack:
      return "perpack";
    case Variant::pack:
      return "pack";
  }
  return "?";
}

void bm_engine(benchmark::State& st, Variant v, Impl impl, Shape s, int threads) {
  if (const std::string why = skip_reason(impl); !why.empty()) {
    st.SkipWithError(why.c_str());
    return;
  }
  WeightPool& wp = pool(s.k, s.n);
  Operands o = make_operands(s);
  const opt::GemmI8Tiling tiling;  // the declaration's defaults: m_tile 64, n_tile 4096, k_block 0
  const std::vector<opt::PackedI8Weights>* pk = nullptr;
  if (impl != Impl::reference && v == Variant::packed) pk = &packed_pool(impl_isa(impl), s.k, s.n);
  // The per-call packing buffer, reused like the adapter's (and touched once before timing).
  std::unique_ptr<uint8_t, decltype(&std::free)> buf{nullptr, &std::free};
  if (impl != Impl::reference && (v == Variant::perpack || v == Variant::pack)) {
    const size_t bytes = opt::packed_i8_bytes(impl_isa(impl), s.k, s.n);
    buf.reset(static_cast<uint8_t*>(alloc_stream_buffer(bytes)));
    std::memset(buf.get(), 0, bytes);
  }
  measure_limits(threads);  // outside the timed loop (cached after the first call)
  int64_t c = 0;
  const double t0 = now_seconds();
  for (auto _ : st) {
    const int8_t* w = wp.copy(c);
    GemmI8Args g = o.args(s, w);
    if (impl == Impl::reference) {
      gemm_i8_reference(g, 0, s.m, 0, s.n);
    } else {
      const Isa isa = impl_isa(impl);
      switch (v) {
        case Variant::direct:
          opt::gemm_i8_run(isa, g, nullptr, tiling, threads);
          break;
        case Variant::packed:
          opt::gemm_i8_run(isa, g, &(*pk)[static_cast<size_t>(c)].view(), tiling, threads);
          break;
        case Variant::perpack: {
          const opt::PackedI8View p = opt::pack_i8_weights_into(isa, w, s.n, s.k, s.n, threads, buf.get());
          opt::gemm_i8_run(isa, g, &p, tiling, threads);
          break;
        }
        case Variant::pack: {
          const opt::PackedI8View p = opt::pack_i8_weights_into(isa, w, s.n, s.k, s.n, threads, buf.get());
          benchmark::DoNotOptimize(p.data);
          break;
        }
      }
    }
    benchmark::ClobberMemory();
    if (++c == wp.copies) c = 0;
  }
  const double secs = now_seconds() - t0;
  Work w = gemm_work(s);
  if (v == Variant::pack) {
    w.bytes = 2.0 * static_cast<double>(s.k * s.n);
    w.ops = 0;
    w.peak = Peak::none;
  }
  add_roofline_counters(st, w, threads, secs);
}

// Through the public backend API: validate_call() + the adapter (which packs per call from
// M = 13). Rotates over enough TensorMaps that W comes from DRAM.
void bm_api(benchmark::State& st, Impl impl, Shape s, int threads) {
  if (const std::string why = skip_reason(impl); !why.empty()) {
    st.SkipWithError(why.c_str());
    return;
  }
  std::unique_ptr<Backend> backend = make_builtin_backend(impl_name(impl));
  const KernelDecl& decl = kernel_or_throw("gemm_i8");
  Problem p;
  p.dims = {{"m", s.m}, {"k", s.k}, {"n", s.n}};
  p.attrs = {{"out_dtype", "bfloat16"}};
  p = complete_problem(decl, p);
  const int64_t copies = std::max<int64_t>(2, kPoolBytes / (s.k * s.n) + 1);
  std::vector<TensorMap> maps(static_cast<size_t>(copies));
  for (auto& t : maps) {
    for (const auto& td : decl.tensors) t[td.name] = make_tensor(decl, p, td.name);
    fill_i8(t["a"].data<int8_t>(), s.m * s.k, 3);
    fill_i8(t["w"].data<int8_t>(), s.k * s.n, 5);
    std::fill(t["s_row"].data<float>(), t["s_row"].data<float>() + s.m, 0.0123f);
    std::fill(t["s_col"].data<float>(), t["s_col"].data<float>() + s.n, 0.00456f);
  }
  Invocation inv;
  inv.decl = &decl;
  inv.problem = &p;
  inv.threads = threads;
  inv.tensors = &maps[0];
  if (Status first = backend->run(inv); !first) {
    st.SkipWithError(("backend failed: " + first.message).c_str());
    return;
  }
  measure_limits(threads);
  Status last;
  size_t c = 0;
  const double t0 = now_seconds();
  for (auto _ : st) {
    inv.tensors = &maps[c];
    last = backend->run(inv);
    benchmark::ClobberMemory();
    if (++c == maps.size()) c = 0;
  }
  const double secs = now_seconds() - t0;
  if (!last) st.SkipWithError(("backend failed: " + last.message).c_str());
  add_roofline_counters(st, gemm_work(s), threads, secs);
}

std::string bench_name(const std::string& variant, Impl impl, Shape s, int threads) {
  std::string n = "gemm_i8/" + variant;
  n += impl == Impl::reference ? "" : std::string(":") + impl_name(impl);
  return n + "/m:" + std::to_string(s.m) + "/k:" + std::to_string(s.k) + "/n:" + std::to_string(s.n) +
         "/threads:" + std::to_string(threads);
}

void add(benchmark::internal::Benchmark* b) { b->UseRealTime()->Unit(benchmark::kMicrosecond); }

void register_gemm_i8() {
  for (const Shape& s : kShapes) {
    if (s.m <= kRefMaxM) {
      const std::string n = bench_name("ref", Impl::reference, s, 1);
      add(benchmark::RegisterBenchmark(n.c_str(), bm_engine, Variant::direct, Impl::reference, s, 1));
    }
    for (int threads : kThreads)
      for (Impl impl : {Impl::avx512, Impl::avx2}) {
        for (Variant v : {Variant::direct, Variant::packed, Variant::perpack}) {
          // The direct path re-interleaves W per 6-row tile: past M ~ 128 it is not a candidate.
          if (v == Variant::direct && s.m > 128) continue;
          if (v == Variant::perpack && s.m < 16) continue;
          const std::string n = bench_name(variant_name(v), impl, s, threads);
          add(benchmark::RegisterBenchmark(n.c_str(), bm_engine, v, impl, s, threads));
        }
        if (s.m == 1 || s.m == 1024) {
          const std::string n = bench_name("api", impl, s, threads);
          add(benchmark::RegisterBenchmark(n.c_str(), bm_api, impl, s, threads));
        }
        if (s.m == 1) {
          const std::string n = bench_name("pack", impl, s, threads);
          add(benchmark::RegisterBenchmark(n.c_str(), bm_engine, Variant::pack, impl, s, threads));
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
  kcs::bench::register_gemm_i8();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
