// BF16 GEMM (gemm_bf16, spec §13 "BF16 GEMMs") at DeepSeek shapes (bench_shapes.json
// "gemm_bf16": B x (M x K) x (K x N) per named weight, M = decode to prefill): the reference (api)
// and every row of kGemmBf16Variants side by side.
//
// Variants (names gemm_bf16/<mode>:<impl>/<shape>/M:<m>/threads:<t>):
//   cold:*  the engine with prepacked weights (opt::gemm_bf16_run, its auto tiling for the thread
//           count), every iteration on a different copy of the packed W out of a >= 128 MiB pool
//           (4x L3), so W streams from DRAM. A and y are reused.
//   api:*   the backend through Backend::run() (bench/harness.h): validate_call() and packing W
//           on every call (the Invocation path; fused kernels pack once). M <= 16; the reference
//           (single-threaded, binary64) only here: at M = 1024 it takes seconds per call.
//
// Counters: bytes = W (B·K·N·2) + A (B·M·K·2) + y (B·M·N·size); ops = 2·B·M·K·N (flop);
// frac_of_limit = max(bytes / read bandwidth, ops / vdpbf16ps peak) / time. AVX2 has no BF16
// dot instruction, so its frac at large M is bounded by the FMA / BF16 peak ratio (about 0.5).
#include <cstdlib>
#include <cstring>
#include <vector>

#include "bench/harness.h"
#include "kcs/kernels/gemm_bf16.h"
#include "optimized/gemm_bf16.h"

namespace kcs::bench {
namespace {

constexpr double kPoolBytes = double(size_t{128} << 20);

struct Gemm {
  int64_t b, m, k, n;
  DType out;
  size_t out_size() const { return out == DType::fp32 ? 4 : 2; }
};

Work gemm_work(const Gemm& s) {
  Work w;
  w.bytes = 2.0 * s.b * s.k * s.n + 2.0 * s.b * s.m * s.k + double(s.out_size()) * s.b * s.m * s.n;
  w.ops = 2.0 * s.b * s.m * s.k * s.n;
  w.peak = Peak::bf16;
  return w;
}

void bm_cold(benchmark::State& st, Isa isa, Gemm s, int threads) {
  if (skip_unavailable(st, impl_of(isa))) return;
  std::vector<uint16_t> a(static_cast<size_t>(s.b * s.m * s.k)), w(static_cast<size_t>(s.b * s.k * s.n));
  std::vector<char> y(static_cast<size_t>(s.b * s.m * s.n) * s.out_size());
  fill_bf16(a.data(), static_cast<int64_t>(a.size()), 1);
  fill_bf16(w.data(), static_cast<int64_t>(w.size()), 2);
  const opt::PackedBf16Weights packed = opt::pack_bf16_weights(w.data(), s.b, s.k, s.n, s.n, s.k * s.n, threads);
  const size_t wbytes = packed.bytes(), stride = (wbytes + 4095) / 4096 * 4096;
  const int64_t copies = copies_for(kPoolBytes + double(wbytes) - 1, double(wbytes), 2);
  char* pool = static_cast<char*>(alloc_stream_buffer(static_cast<size_t>(copies) * stride));
  for (int64_t c = 0; c < copies; ++c) std::memcpy(pool + c * stride, packed.view().data, wbytes);
  opt::GemmBf16Args g;
  g.batch = s.b, g.m = s.m, g.k = s.k, g.n = s.n;
  g.a = a.data(), g.lda = s.k, g.a_batch_stride = s.m * s.k;
  g.y = y.data(), g.ldy = s.n, g.y_batch_stride = s.m * s.n, g.y_dtype = s.out;
  const opt::GemmBf16Tiling t = opt::gemm_bf16_auto_tiling(s.b, s.m, s.n, threads);
  opt::PackedBf16View v = packed.view();
  timed(st, gemm_work(s), threads, copies, [&](int64_t c) {
    v.data = reinterpret_cast<const uint32_t*>(pool + c * stride);
    opt::gemm_bf16_run(isa, g, v, t, threads);
  });
  std::free(pool);
}

}  // namespace

void register_benchmarks() {
  for (const Shape& s : shapes("gemm_bf16")) {
    DType out;
    if (!parse_dtype(s.s("out_dtype"), &out)) throw Error("gemm_bf16 bench: bad out_dtype " + s.s("out_dtype"));
    const Gemm g{s.i("B"), s.i("M"), s.i("K"), s.i("N"), out};
    const ApiBench api{make_problem("gemm_bf16", s.dims({"B", "M", "K", "N"}), {{"out_dtype", s.s("out_dtype")}}),
                       gemm_work(g)};
    const std::string tail = s.s("name") + "/" + s.tail({"M"});
    if (g.m <= 16) add(row_name("gemm_bf16", "api", Impl::reference, tail, 1), bm_api, Impl::reference, api, 1);
    for_each_variant(opt::kGemmBf16Variants, [&](const opt::GemmBf16Variant& v, int threads) {
      add(row_name("gemm_bf16", "cold", impl_of(v.isa), tail, threads), bm_cold, v.isa, g, threads);
      if (g.m <= 16) add(row_name("gemm_bf16", "api", impl_of(v.isa), tail, threads), bm_api, impl_of(v.isa), api, threads);
    });
  }
}

}  // namespace kcs::bench
