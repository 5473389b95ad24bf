// K2 MLA Prolog Quant (mla_prolog, spec §4) at DeepSeek V3.2 dimensions (bench_shapes.json
// "mla_prolog": n1 heads x t tokens), quant mode.
//
// Variants (names mla_prolog/<mode>:<impl>/n1:<n1>/t:<t>/threads:<k>):
//   fused:*  opt::mla_prolog_run with weights packed once (the serving path: weights are fixed),
//            every iteration on the next of several packed copies whose total is >= 192 MiB
//            (> 4x L3), so all weights stream from DRAM. Default knobs except tile_bs = 128 (one
//            tile up to t = 128; prefill reuses each weight block over 128 tokens), m_tile = 0.
//   api:*    the public API (bench/harness.h): weights prepared once (Backend::prepare, the
//            packing plan of optimized/mla_prolog.cc), each call through Plan::run with its
//            validation (t = 1 and 16 only).
//   api:reference  t = 1, 1 thread (it takes ~0.1-1 s per token).
//
// Counters (bench/limits.h): bytes = every weight byte once (w_dq h·q_lora·2, w_uq_qr
// q_lora·n1·192 (int8), dequant_scale, w_uk n1·128·512·2, w_dkv_kr h·576·2, gammas) +
// activations and outputs; ops = bf16-equivalent flop: the BF16 GEMMs' 2·M·K·N plus the INT8
// GEMM's 2·M·K·N scaled by bf16_peak / vnni_peak, so that ops / bf16_peak is the compute limit
// time of the mixed kernel (both peaks measured in this process).
#include <memory>
#include <vector>

#include "bench/harness.h"
#include "kcs/formats.h"
#include "kcs/kernels/mla_prolog.h"
#include "optimized/gemm_i8.h"
#include "optimized/mla_prolog.h"

namespace kcs::bench {
namespace {

constexpr double kPoolBytes = double(size_t{192} << 20);

// The shape's problem (quant mode) and its dimensions as the params layer parses them.
Problem problem_of(const Shape& s) {
  Dims d = s.dims({"t", "h", "q_lora", "n1", "nope", "rope", "kv_lora", "block_size"});
  d["nq"] = d["dq_n"] = d["n1"] * (d["nope"] + d["rope"]);
  d["nkv"] = d["kv_lora"] + d["rope"];
  d["qs"] = 1;
  d["block_num"] = (d["t"] + d["block_size"] - 1) / d["block_size"] + 1;
  return make_problem("mla_prolog", d, {{"eps_cq", "1e-6"}, {"eps_ckv", "1e-6"}});
}

double weight_bytes(const MlaPrologDims& d) {
  return 2.0 * d.h * d.q_lora + 1.0 * d.q_lora * d.nq() + 4.0 * d.nq() + 2.0 * d.n1 * d.nope * d.kv_lora +
         2.0 * d.h * d.nkv() + 2.0 * (d.q_lora + d.kv_lora);
}

Work work(const MlaPrologDims& d, int threads) {
  const Limits& l = measure_limits(threads);
  Work w;
  const double t = static_cast<double>(d.t);
  w.bytes = weight_bytes(d) + 2.0 * t * d.h + 4.0 * t * d.rope                 // x, cos, sin
            + t * (d.q_lora + 4) + 2.0 * t * d.n1 * (d.kv_lora + d.rope)  // q_norm(+scale), query outputs
            + t * (d.kv_lora + 2.0 * d.rope + 16);                          // cache rows
  const double bf16_ops = 2.0 * t * (d.h * d.q_lora + d.h * d.nkv() + d.n1 * d.nope * d.kv_lora);
  const double i8_ops = 2.0 * t * d.q_lora * d.nq();
  const double ratio = l.vnni_gops > 0 && l.bf16_gflops > 0 ? l.bf16_gflops / l.vnni_gops : 1.0;
  w.ops = bf16_ops + i8_ops * ratio;
  w.peak = l.bf16_gflops > 0 ? Peak::bf16 : Peak::fma;
  return w;
}

// Uniform values from a xorshift stream instead of the fixture generator: the weights are ~100 MB
// and their values do not change the speed.
void fill_call(TensorMap& t) {
  uint64_t s = 7 * 0x9E3779B97F4A7C15ull + 1;
  auto next = [&s] { return static_cast<double>(xorshift(s) >> 11) * 0x1.0p-53; };
  for (const char* n : {"token_x", "w_dq", "w_uk", "w_dkv_kr", "gamma_cq", "gamma_ckv", "cos", "sin"}) {
    const double a = n[0] == 'w' ? 0.1 : 1.0;
    for (int64_t i = 0; i < t[n].numel(); ++i) t[n].data<uint16_t>()[i] = bf16_from_double(a * (2 * next() - 1));
  }
  for (int64_t i = 0; i < t["w_uq_qr"].numel(); ++i) t["w_uq_qr"].data<int8_t>()[i] = static_cast<int8_t>(next() * 255 - 127);
  for (int64_t i = 0; i < t["dequant_scale"].numel(); ++i) t["dequant_scale"].data<float>()[i] = static_cast<float>(1e-3 * (1 + next()));
  for (int64_t i = 0; i < t["cache_index"].numel(); ++i) t["cache_index"].data<int64_t>()[i] = i;
}

void bm_fused(benchmark::State& st, Isa isa, const Problem& p, int threads) {
  if (skip_unavailable(st, impl_of(isa))) return;
  const KernelDecl& decl = kernel_or_throw("mla_prolog");
  const MlaPrologDims d = mla_prolog_dims(p);
  TensorMap t;
  for (const auto& td : decl.tensors) t[td.name] = make_tensor(decl, p, td.name);
  fill_call(t);
  auto u16 = [&t](const char* n) { return t[n].data<uint16_t>(); };
  const opt::MlaPrologWeightsIn in{u16("w_dq"), t["w_uq_qr"].raw(), t["dequant_scale"].data<float>(), u16("w_uk"),
                                   u16("w_dkv_kr"), u16("gamma_cq"), u16("gamma_ckv")};
  const int64_t copies = copies_for(kPoolBytes, weight_bytes(d)) + 1;
  std::vector<std::unique_ptr<opt::MlaPrologWeights>> w;
  for (int64_t k = 0; k < std::max<int64_t>(2, copies); ++k) {
    w.push_back(std::make_unique<opt::MlaPrologWeights>());
    opt::mla_prolog_pack(isa, d, in, true, threads, w.back().get());
  }
  opt::MlaPrologIo io;
  io.token_x = u16("token_x");
  io.cos = u16("cos");
  io.sin = u16("sin");
  io.cache_index = t["cache_index"].data<int64_t>();
  io.kv_cache = t["kv_cache"].raw();
  io.kr_cache = u16("kr_cache");
  io.k_scale_cache = t["k_scale_cache"].data<float>();
  io.q_norm_out = t["q_norm_out"].raw();
  io.q_norm_scale_out = t["q_norm_scale_out"].data<float>();
  io.query_nope_out = u16("query_nope_out");
  io.query_rope_out = u16("query_rope_out");
  io.eps_cq = io.eps_ckv = 1e-6;
  opt::MlaPrologTiles tl;
  tl.tile_bs = 128;
  tl.m_tile = 0;
  timed(st, work(d, threads), threads, static_cast<int64_t>(w.size()),
        [&](int64_t k) { opt::mla_prolog_run(*w[static_cast<size_t>(k)], io, tl, threads); });
}

}  // namespace

void register_benchmarks() {
  for (const Shape& s : shapes("mla_prolog")) {
    const Problem p = problem_of(s);
    const MlaPrologDims d = mla_prolog_dims(p);
    const std::string tail = s.tail({"n1", "t"});
    for (int threads : thread_counts()) {
      ApiBench api{p, work(d, threads)};
      api.fill = fill_call;
      for (const opt::MlaPrologVariant& v : opt::kMlaPrologVariants) {
        const Impl impl = impl_of(v.isa);
        auto* b = add(row_name("mla_prolog", "fused", impl, tail, threads), bm_fused, v.isa, p, threads);
        if (d.t >= 128) b->Iterations(d.t >= 1024 ? 3 : 10);
        if (d.t == 1 || d.t == 16) add(row_name("mla_prolog", "api", impl, tail, threads), bm_api, impl, api, threads);
      }
      if (d.t == 1 && threads == 1)
        add(row_name("mla_prolog", "api", Impl::reference, tail, threads), bm_api, Impl::reference, api, threads)
            ->Iterations(2);
    }
  }
}

}  // namespace kcs::bench
