// K2 MLA Prolog Quant (mla_prolog, spec §4) at DeepSeek V3.2 dimensions (h 7168, q_lora 1536,
// nope 128, rope 64, kv_lora 512, block 128), quant mode, n1 = 128 and 64 heads, t = 1, 4, 16,
// 128, 1024 tokens, 1 and 2 OpenMP threads.
//
// Variants (names mla_prolog/<mode>:<impl>/n1:<n1>/t:<t>/threads:<k>):
//   fused:*  opt::mla_prolog_run with weights packed once (the serving path: weights are fixed),
//            every iteration on the next of several packed copies whose total is >= 192 MiB
//            (> 4x L3), so all weights stream from DRAM as the bandwidth limit assumes.
//            Default knobs except tile_bs = 128 (one tile up to t = 128; prefill reuses each
//            weight block over 128 tokens) and m_tile = 0.
//   api:*    make_builtin_backend(impl)->run(): the Invocation path, with validate_call() and
//            per-call packing of the BF16 weights (t = 1 and 16 only).
//   reference  the reference backend (t = 1, 1 thread: it takes ~0.1-1 s per token).
//
// Counters (bench/limits.h): bytes = every weight byte once (from the declaration: w_dq h·q_lora·2,
// w_uq_qr q_lora·n1·192 (int8), dequant_scale, w_uk n1·128·512·2, w_dkv_kr h·576·2, gammas)
// + activations and outputs; ops = bf16-equivalent flop: the BF16 GEMMs' 2·M·K·N plus the INT8
// GEMM's 2·M·K·N scaled by bf16_peak / vnni_peak, so that ops / bf16_peak is the compute
// limit time of the mixed kernel (both peaks measured in this process).
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
#include "kcs/kernels/mla_prolog.h"
#include "optimized/mla_prolog.h"

namespace kcs::bench {
namespace {

constexpr int64_t kTs[] = {1, 4, 16, 128, 1024};
constexpr int64_t kHeads[] = {128, 64};
constexpr int kThreads[] = {1, 2};
constexpr size_t kPoolBytes = size_t{192} << 20;

MlaPrologDims dims(int64_t n1, int64_t t) {
  MlaPrologDims d;
  d.t = t;
  d.h = 7168;
  d.q_lora = 1536;
  d.n1 = n1;
  d.nope = 128;
  d.rope = 64;
  d.kv_lora = 512;
  d.block_size = 128;
  d.block_num = (t + 127) / 128 + 1;
  d.quant = true;
  return d;
}

double weight_bytes(const MlaPrologDims& d) {
  return 2.0 * d.h * d.q_lora + 1.0 * d.q_lora * d.nq() + 4.0 * d.nq() + 2.0 * d.n1 * d.nope * d.kv_lora +
         2.0 * d.h * d.nkv() + 2.0 * (d.q_lora + d.kv_lora);
}

Work work(const MlaPrologDims& d, int threads) {
  const Limits& l = measure_limits(threads);
  Work w;
  const double t = static_cast<double>(d.t);
  w.bytes = weight_bytes(d) + 2.0 * t * d.h + 4.0 * t * d.rope  // x, cos, sin
            + t * (d.q_lora + 4) + 2.0 * t * d.n1 * (d.kv_lora + d.rope)  // q_norm(+scale), query outputs
            + t * (d.kv_lora + 2.0 * d.rope + 16);                      // cache rows
  const double bf16_ops = 2.0 * t * (d.h * d.q_lora + d.h * d.nkv() + d.n1 * d.nope * d.kv_lora);
  const double i8_ops = 2.0 * t * d.q_lora * d.nq();
  const double ratio = l.vnni_gops > 0 && l.bf16_gflops > 0 ? l.bf16_gflops / l.vnni_gops : 1.0;
  w.ops = bf16_ops + i8_ops * ratio;
  w.peak = l.bf16_gflops > 0 ? Peak::bf16 : Peak::fma;
  return w;
}

// Uniform BF16 in [lo, hi) from a xorshift stream (fast: the weights are ~100 MB).
struct Fill {
  uint64_t s;
  explicit Fill(uint64_t seed) : s(seed * 0x9E3779B97F4A7C15ull + 1) {}
  double next() {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    return static_cast<double>(s >> 11) * 0x1.0p-53;
  }
  void bf16(Tensor& t, double lo, double hi) {
    for (int64_t i = 0; i < t.numel(); ++i) t.data<uint16_t>()[i] = bf16_from_double(lo + (hi - lo) * next());
  }
};

// A complete call (tensors by the declaration's names) at real dims, quant mode.
struct Call {
  Problem pr;
  TensorMap t;
};

Call make_call(const MlaPrologDims& d) {
  const KernelDecl& decl = kernel_or_throw("mla_prolog");
  Call c;
  c.pr.kernel = "mla_prolog";
  c.pr.dims = {{"t", d.t},          {"h", d.h},       {"q_lora", d.q_lora},   {"n1", d.n1},
               {"nope", d.nope},    {"rope", d.rope}, {"kv_lora", d.kv_lora}, {"nq", d.nq()},
               {"nkv", d.nkv()},    {"dq_n", d.nq()}, {"qs", 1},              {"block_num", d.block_num},
               {"block_size", d.block_size}};
  c.pr.attrs = {{"eps_cq", "1e-6"}, {"eps_ckv", "1e-6"}};
  c.pr = complete_problem(decl, c.pr);
  for (const auto& td : decl.tensors) c.t[td.name] = make_tensor(decl, c.pr, td.name);
  Fill f(7);
  f.bf16(c.t["token_x"], -1, 1);
  for (const char* n : {"w_dq", "w_uk", "w_dkv_kr"}) f.bf16(c.t[n], -0.1, 0.1);
  for (const char* n : {"gamma_cq", "gamma_ckv", "cos", "sin"}) f.bf16(c.t[n], -1, 1);
  Tensor& wq = c.t["w_uq_qr"];
  for (int64_t i = 0; i < wq.numel(); ++i) wq.data<int8_t>()[i] = static_cast<int8_t>(f.next() * 255 - 127);
  for (int64_t i = 0; i < d.nq(); ++i) c.t["dequant_scale"].data<float>()[i] = static_cast<float>(1e-3 * (1 + f.next()));
  for (int64_t i = 0; i < d.t; ++i) c.t["cache_index"].data<int64_t>()[i] = i;
  return c;
}

opt::MlaPrologWeightsIn weights_in(Call& c) {
  opt::MlaPrologWeightsIn in;
  in.w_dq = c.t["w_dq"].data<uint16_t>();
  in.w_uq_qr = c.t["w_uq_qr"].raw();
  in.dequant_scale = c.t["dequant_scale"].data<float>();
  in.w_uk = c.t["w_uk"].data<uint16_t>();
  in.w_dkv_kr = c.t["w_dkv_kr"].data<uint16_t>();
  in.gamma_cq = c.t["gamma_cq"].data<uint16_t>();
  in.gamma_ckv = c.t["gamma_ckv"].data<uint16_t>();
  return in;
}

opt::MlaPrologIo io_of(Call& c) {
  opt::MlaPrologIo io;
  io.token_x = c.t["token_x"].data<uint16_t>();
  io.cos = c.t["cos"].data<uint16_t>();
  io.sin = c.t["sin"].data<uint16_t>();
  io.cache_index = c.t["cache_index"].data<int64_t>();
  io.kv_cache = c.t["kv_cache"].raw();
  io.kr_cache = c.t["kr_cache"].data<uint16_t>();
  io.k_scale_cache = c.t["k_scale_cache"].data<float>();
  io.q_norm_out = c.t["q_norm_out"].raw();
  io.q_norm_scale_out = c.t["q_norm_scale_out"].data<float>();
  io.query_nope_out = c.t["query_nope_out"].data<uint16_t>();
  io.query_rope_out = c.t["query_rope_out"].data<uint16_t>();
  io.eps_cq = io.eps_ckv = 1e-6;
  return io;
}

void bm_fused(benchmark::State& st, Impl impl, int64_t n1, int64_t t, int threads) {
  if (const std::string why = skip_reason(impl); !why.empty()) {
    st.SkipWithError(why.c_str());
    return;
  }
  const MlaPrologDims d = dims(n1, t);
  Call c = make_call(d);
  const Work wk = work(d, threads);
  const Isa isa = impl == Impl::avx512 ? Isa::avx512 : Isa::avx2;
  const size_t copies = std::max<size_t>(2, static_cast<size_t>(kPoolBytes / weight_bytes(d)) + 1);
  std::vector<std::unique_ptr<opt::MlaPrologWeights>> w;
  for (size_t k = 0; k < copies; ++k) {
    w.push_back(std::make_unique<opt::MlaPrologWeights>());
    opt::mla_prolog_pack(isa, d, weights_in(c), true, threads, w.back().get());
  }
  const opt::MlaPrologIo io = io_of(c);
  opt::MlaPrologTiles tl;
  tl.tile_bs = 128;
  tl.m_tile = 0;
  size_t k = 0;
  const double t0 = now_seconds();
  for (auto _ : st) {
    opt::mla_prolog_run(*w[k], io, tl, threads);
    benchmark::ClobberMemory();
    if (++k == copies) k = 0;
  }
  add_roofline_counters(st, wk, threads, now_seconds() - t0);
}

void bm_api(benchmark::State& st, Impl impl, int64_t n1, int64_t t, int threads) {
  if (const std::string why = skip_reason(impl); !why.empty()) {
    st.SkipWithError(why.c_str());
    return;
  }
  const MlaPrologDims d = dims(n1, t);
  Call c = make_call(d);
  const Work wk = work(d, threads);
  std::unique_ptr<Backend> backend = make_builtin_backend(impl_name(impl));
  const KernelDecl& decl = kernel_or_throw("mla_prolog");
  Invocation inv;
  inv.decl = &decl;
  inv.problem = &c.pr;
  inv.tensors = &c.t;
  inv.threads = threads;
  if (Status first = backend->run(inv); !first) {
    st.SkipWithError(("backend failed: " + first.message).c_str());
    return;
  }
  Status last;
  const double t0 = now_seconds();
  for (auto _ : st) {
    last = backend->run(inv);
    benchmark::ClobberMemory();
  }
  const double secs = now_seconds() - t0;
  if (!last) st.SkipWithError(("backend failed: " + last.message).c_str());
  add_roofline_counters(st, wk, threads, secs);
}

std::string bench_name(const char* mode, Impl impl, int64_t n1, int64_t t, int threads) {
  return std::string("mla_prolog/") + mode + ":" + impl_name(impl) + "/n1:" + std::to_string(n1) +
         "/t:" + std::to_string(t) + "/threads:" + std::to_string(threads);
}

void register_mla_prolog() {
  for (int64_t n1 : kHeads)
    for (int64_t t : kTs)
      for (int threads : kThreads) {
        for (Impl impl : {Impl::avx512, Impl::avx2}) {
          auto* b = benchmark::RegisterBenchmark(bench_name("fused", impl, n1, t, threads).c_str(), bm_fused, impl,
                                                 n1, t, threads);
          b->UseRealTime()->Unit(benchmark::kMicrosecond);
          if (t >= 128) b->Iterations(t >= 1024 ? 3 : 10);
          if (t == 1 || t == 16)
            benchmark::RegisterBenchmark(bench_name("api", impl, n1, t, threads).c_str(), bm_api, impl, n1, t,
                                         threads)
                ->UseRealTime()
                ->Unit(benchmark::kMicrosecond);
        }
        if (t == 1 && threads == 1)
          benchmark::RegisterBenchmark(bench_name("api", Impl::reference, n1, t, threads).c_str(), bm_api,
                                       Impl::reference, n1, t, threads)
              ->UseRealTime()
              ->Iterations(2)
              ->Unit(benchmark::kMicrosecond);
      }
}

}  // namespace
}  // namespace kcs::bench

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  kcs::bench::add_cpu_context();
  kcs::bench::register_limits_benchmark({1, 2});  // first, so the limits head the table
  kcs::bench::register_mla_prolog();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
