// oneDNN (Debian libdnnl-dev) matmuls on the GEMM shapes of kcs's engines and on the GEMMs that
// kcs's fused kernels contain, at the shapes of fixtures/catalog/bench_shapes.json, measured the
// way kcs's benches measure ours. Rows: gemm_i8/packed:onednn/<shape> and gemm_bf16/cold:onednn/
// <name>/<shape> beside the engines' rows, and <family>/gemm:onednn/<gemm>/<shape of the kcs row>
// per GEMM of a fused kernel (all_gemms() names them with their steps of docs/kernels/<family>.md),
// which bench/report.py sums (its FUSED table lists the GEMMs of each sum: keep the two in step).
// Streaming: the operand a serving engine reads from DRAM rotates over copies of >= 96 MiB (3x L3):
// weights (prepacked in oneDNN's preferred layout, format_tag::any, outside the timed loop), or
// K3's int8 cache rows; the Hadamard matrices and K3's q codes stay in cache, as kcs's do.
// Counters: bytes = operands + output once, ops = 2·M·K·N against the peak of the GEMM's type.
// oneDNN threads with OpenMP (Debian's build is DNNL_RUNTIME_OMP): omp_set_num_threads(T).
// ISA: oneDNN picks its own (AMX where the CPU has it); a run under ONEDNN_MAX_CPU_ISA=X names its
// rows' impl onednn_<x> (AVX512_CORE_BF16: onednn_avx512, the like-for-like peer of kcs's AVX-512
// engines) so both runs fit one report. Each row's label is the implementation oneDNN chose for it
// (impl_info_str, ONEDNN_VERBOSE's name, e.g. brg:avx512_core_amx).
#include <omp.h>

#include <cctype>
#include <cstdlib>
#include <stdexcept>

#include <oneapi/dnnl/dnnl.hpp>

#include "bench/harness.h"

namespace kcs::bench {
namespace {

using dnnl::memory;
using dt = memory::data_type;
using tag = memory::format_tag;

constexpr size_t kPoolBytes = size_t{96} << 20;

dnnl::engine& engine() {
  static dnnl::engine e(dnnl::engine::kind::cpu, 0);
  return e;
}

void fill_bytes(memory& m, uint64_t seed, bool bf16) {
  auto* p = static_cast<uint8_t*>(m.get_data_handle());
  const size_t n = m.get_desc().get_size();
  uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;
  for (size_t i = 0; i < n; ++i) p[i] = static_cast<uint8_t>(xorshift(s) >> 56);
  // Keep BF16 data finite and moderate: exponent bytes (odd offsets) in [0x3c, 0x3f].
  if (bf16)
    for (size_t i = 1; i < n; i += 2) p[i] = static_cast<uint8_t>(0x3c | (p[i] & 0x83));
}

enum class Stream { weights, src, none };  // which operand rotates over the pool

// b x ([m, k] x [k, n]) (b = 1: a plain 2-D matmul).
struct Gemm {
  std::string name;
  int64_t b, m, k, n;
  dt in, out;
  Stream stream = Stream::weights;
  double extra_bytes = 0;  // counted beyond the operands and output (see all_gemms)
  memory::dims dims(int64_t r, int64_t c) const { return b == 1 ? memory::dims{r, c} : memory::dims{b, r, c}; }
  tag plain() const { return b == 1 ? tag::ab : tag::abc; }
  Work work() const {
    const double isz = in == dt::s8 ? 1 : 2, osz = out == dt::bf16 ? 2 : 4, M = double(m), K = double(k), N = double(n);
    Work w;
    w.bytes = double(b) * (isz * (M * K + K * N) + osz * M * N) + extra_bytes;
    w.ops = 2.0 * double(b) * M * K * N;
    w.peak = in == dt::s8 ? Peak::vnni : Peak::bf16;
    return w;
  }
};

// The ISA limit oneDNN obeys ("" = none): it reads both names.
std::string isa_limit() {
  for (const char* name : {"ONEDNN_MAX_CPU_ISA", "DNNL_MAX_CPU_ISA"})
    if (const char* env = std::getenv(name); env != nullptr && *env != '\0') return env;
  return "";
}

// The impl of every row: "onednn", or "onednn_<isa>" under an ISA limit (see the top).
const std::string& peer_impl() {
  static const std::string impl = [] {
    std::string isa = isa_limit();
    for (char& c : isa) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (isa.empty() || isa == "all") return std::string("onednn");
    if (isa == "avx512_core_bf16") return std::string("onednn_avx512");
    for (char c : isa)
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_')
        throw std::runtime_error("ONEDNN_MAX_CPU_ISA='" + isa + "' is not an ISA name (letters, digits, _)");
    return "onednn_" + isa;
  }();
  return impl;
}

std::string isa_name(dnnl::cpu_isa isa) {
  switch (isa) {
    case dnnl::cpu_isa::all: return "all";
    case dnnl::cpu_isa::sse41: return "sse41";
    case dnnl::cpu_isa::avx: return "avx";
    case dnnl::cpu_isa::avx2: return "avx2";
    case dnnl::cpu_isa::avx2_vnni: return "avx2_vnni";
    case dnnl::cpu_isa::avx512_mic: return "avx512_mic";
    case dnnl::cpu_isa::avx512_mic_4ops: return "avx512_mic_4ops";
    case dnnl::cpu_isa::avx512_core: return "avx512_core";
    case dnnl::cpu_isa::avx512_core_vnni: return "avx512_core_vnni";
    case dnnl::cpu_isa::avx512_core_bf16: return "avx512_core_bf16";
    case dnnl::cpu_isa::avx512_core_amx: return "avx512_core_amx";
  }
  return "unknown (" + std::to_string(static_cast<int>(isa)) + ")";
}

size_t pool_copies(size_t bytes) { return std::max<size_t>(2, (kPoolBytes + bytes - 1) / bytes); }

void bm_matmul(benchmark::State& st, Gemm g, int threads) {
  omp_set_num_threads(threads);
  dnnl::stream strm(engine());
  memory::desc a_md(g.dims(g.m, g.k), g.in, g.plain()), w_plain(g.dims(g.k, g.n), g.in, g.plain());
  memory::desc c_md(g.dims(g.m, g.n), g.out, g.plain());
  const memory::desc w_any(g.dims(g.k, g.n), g.in, tag::any);
  dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(a_md, w_any, c_md), engine());
  dnnl::matmul prim(pd);
  st.SetLabel(pd.impl_info_str());
  memory c(c_md, engine()), w0(w_plain, engine());
  fill_bytes(w0, 2, g.in == dt::bf16);
  std::vector<memory> wpool, apool;
  for (size_t i = 0, n = g.stream == Stream::weights ? pool_copies(pd.weights_desc().get_size()) : 1; i < n; ++i) {
    wpool.emplace_back(pd.weights_desc(), engine());
    dnnl::reorder(w0, wpool.back()).execute(strm, w0, wpool.back());
  }
  for (size_t i = 0, n = g.stream == Stream::src ? pool_copies(a_md.get_size()) : 1; i < n; ++i) {
    apool.emplace_back(a_md, engine());
    fill_bytes(apool.back(), 1, g.in == dt::bf16);  // the same values in every copy
  }
  strm.wait();
  const size_t copies = std::max(apool.size(), wpool.size());  // one of them is 1
  auto run = [&](int64_t k) {
    const size_t i = static_cast<size_t>(k);
    prim.execute(strm, {{DNNL_ARG_SRC, apool[i % apool.size()]}, {DNNL_ARG_WEIGHTS, wpool[i % wpool.size()]},
                        {DNNL_ARG_DST, c}});
    strm.wait();
  };
  run(static_cast<int64_t>(copies) - 1);  // scratchpad and thread-pool start-up stay out of the timing
  timed(st, g.work(), threads, static_cast<int64_t>(copies), run);  // the loop of kcs's own rows
}

std::vector<Gemm> all_gemms() {
  std::vector<Gemm> out;
  const std::string& impl = peer_impl();
  for (const Shape& s : shapes("gemm_i8")) {  // bytes as bench/gemm_i8_bench.cc's: + y (2 B) + scales
    const int64_t m = s.i("m"), n = s.i("n");
    out.push_back({"gemm_i8/packed:" + impl + "/" + s.tail({"m", "k", "n"}), 1, m, s.i("k"), n, dt::s8, dt::s32,
                   Stream::weights, double(m * n * 2 + (m + n) * 4)});
  }
  for (const Shape& s : shapes("gemm_bf16"))
    out.push_back({"gemm_bf16/cold:" + impl + "/" + s.s("name") + "/" + s.tail({"M"}), s.i("B"), s.i("M"), s.i("K"), s.i("N"),
                   dt::bf16, s.s("out_dtype") == "float32" ? dt::f32 : dt::bf16});
  for (const Shape& s : shapes("indexer_prolog")) {  // K1 steps 1, 6, 12, 4, 9
    const std::string f = "indexer_prolog/gemm:" + impl + "/", tail = "/" + s.tail({"t"});
    const int64_t t = s.i("t"), h = s.i("h"), H = s.i("H"), D = s.i("D");
    out.push_back({f + "q_b" + tail, 1, t, s.i("q_lora"), H * D, dt::s8, dt::s32});
    out.push_back({f + "wk" + tail, 1, t, h, D, dt::bf16, dt::f32});
    out.push_back({f + "w_proj" + tail, 1, t, h, H, dt::bf16, dt::bf16});
    out.push_back({f + "hadamard_q" + tail, 1, H * t, D, D, dt::bf16, dt::bf16, Stream::none});
    out.push_back({f + "hadamard_k" + tail, 1, t, D, D, dt::bf16, dt::bf16, Stream::none});
  }
  for (const Shape& s : shapes("mla_prolog")) {  // K2 quant mode, steps 1, 4, 5, 7
    const std::string f = "mla_prolog/gemm:" + impl + "/", tail = "/" + s.tail({"n1", "t"});
    const int64_t t = s.i("t"), h = s.i("h"), ql = s.i("q_lora"), n1 = s.i("n1"), nope = s.i("nope"), kv = s.i("kv_lora");
    out.push_back({f + "w_dq" + tail, 1, t, h, ql, dt::bf16, dt::bf16});
    out.push_back({f + "w_uq_qr" + tail, 1, t, ql, n1 * (nope + s.i("rope")), dt::s8, dt::s32});
    out.push_back({f + "w_uk" + tail, n1, t, nope, kv, dt::bf16, dt::bf16});
    out.push_back({f + "w_dkv_kr" + tail, 1, t, h, kv + s.i("rope"), dt::bf16, dt::bf16});
  }
  for (const Shape& s : shapes("v4_indexer"))  // K3 score rows: cache rows x q codes
    out.push_back({"v4_indexer/gemm:" + impl + "/score/" + s.tail({"B", "cache_len"}), s.i("B"), s.i("cache_len"), s.i("Dh"),
                   s.i("H"), dt::s8, dt::s32, Stream::src});
  return out;
}

}  // namespace

void register_benchmarks() {
  const dnnl_version_t* v = dnnl_version();
  benchmark::AddCustomContext("peer", "oneDNN " + std::to_string(v->major) + "." + std::to_string(v->minor) + "." +
                                          std::to_string(v->patch));
  const std::string limit = isa_limit();
  benchmark::AddCustomContext("onednn_max_cpu_isa", limit.empty() ? "default (no limit)" : limit);
  benchmark::AddCustomContext("onednn_effective_isa", isa_name(dnnl::get_effective_cpu_isa()));
  benchmark::AddCustomContext("onednn_impl", peer_impl());
  for (const Gemm& g : all_gemms())
    for (int t : thread_counts()) {
      auto* b = add(g.name + "/threads:" + std::to_string(t), bm_matmul, g, t);
      // The fused kernels' GEMMs: seconds per row at most, not minutes (~0.1-0.5 s per iteration
      // from 1e10 ops on this VM); the engine rows keep Google Benchmark's own iteration count.
      const double ops = g.work().ops;
      if (g.name.find("/gemm:" + peer_impl() + "/") == std::string::npos) continue;
      if (ops >= 1e9)
        b->Iterations(ops >= 1e10 ? 3 : 10);
      else
        b->MinTime(0.2);
    }
}

}  // namespace kcs::bench
