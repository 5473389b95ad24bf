// K5 CSA / HCA compressor (spec §7) at DeepSeek V4 shapes (bench_shapes.json "compressor"):
// the reference and every row of kCompressorVariants side by side through the backend API
// (bench/harness.h, validate_call included), default tiles (cols_per_cta 128, block_tile 16),
// inputs from the kernel's fixture generator.
// cold: each iteration uses a different copy of the projection buffers out of a pool of at least
// 256 MiB (far larger than L3), so they stream from DRAM; the small tensors (ape, weights, table
// rows, Hadamard) stay cached as they would in a model. hot: one copy, cached between iterations
// where it fits (frac_of_limit can exceed 1 there). The reference runs cold only.
// The copies are ordinary heap tensors (4 KiB pages unless the kernel backs them with THP), which
// can cost single-core bandwidth against the limit probe's huge-page buffer (bench/limits.h).
//
// Counters: bytes = the projection rows read (CSA: n_blocks·M rows of 4C + 4C_I elements, plus
// prev_b when used; HCA: n_blocks·M rows of 2C) + the BF16 outputs written. ops = window
// elements pooled (one exp each). frac_of_limit = (bytes / read bandwidth of this process) /
// achieved time. Compute bound: 16 pooled BF16 elements read 64 B and cost 19 vector uops (CSA:
// 11 the exp, 1 each to widen a score and a value half; about 24 for HCA, whose logits are formed
// in both passes), >= 9.5 cycles at two 512-bit uops per cycle; measured (hot, min of 60, Xeon
// at 3.59 GHz) 13.7 cycles, against 13.9 cycles per 64 B for one core streaming 16.5 GB/s (THP;
// about 14 GB/s with 4 KiB pages), so CSA's pooling runs at about one core's bandwidth and the
// epilogue (model: +30%, fused: +5%) and any DRAM stall not hidden by prefetch come on top.
#include "bench/harness.h"
#include "optimized/compressor.h"

namespace kcs::bench {
namespace {

Work work_of(bool csa, int64_t nb, int64_t M, int64_t C, int64_t CI) {
  Work w;
  const double rows = static_cast<double>(nb * M);
  w.bytes = rows * static_cast<double>(csa ? 4 * (C + CI) : 2 * C) * 2 + static_cast<double>(nb * (C + CI)) * 2;
  const double window = csa ? 2.0 * M : M;
  w.ops = static_cast<double>(nb) * window * static_cast<double>(C + CI);
  return w;
}

}  // namespace

void register_benchmarks() {
  for (const Shape& s : shapes("compressor")) {
    const bool csa = s.s("variant") == "csa";
    const int64_t nb = s.i("n_blocks"), M = s.i("M");
    Dims d = s.dims({"n_blocks", "M", "C", "C_I", "NOPE", "ROPE", "G"});
    d["N"] = nb * M;
    d["P"] = nb * M + M;
    d["MP"] = 0;
    ApiBench api{make_problem("compressor", d, {{"variant", s.s("variant")}, {"epilogue", s.s("epilogue")}}),
                 work_of(csa, nb, M, s.i("C"), s.i("C_I"))};
    api.streamed = {"proj", "proj_indexer"};
    const std::string tail = s.s("variant") + "_" + s.s("epilogue") + "/" + s.tail({"n_blocks"});
    add(row_name("compressor", "cold", Impl::reference, tail, 1), bm_api, Impl::reference, api, 1);
    for_each_variant(opt::kCompressorVariants, [&](const opt::CompressorVariant& v, int threads) {
      for (bool hot : {false, true}) {
        api.pool_bytes = hot ? 0 : double(size_t{256} << 20);
        add(row_name("compressor", hot ? "hot" : "cold", impl_of(v.isa), tail, threads), bm_api, impl_of(v.isa), api, threads);
      }
    });
  }
}

}  // namespace kcs::bench
