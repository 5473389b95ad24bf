// INT8 GEMM + dequant (spec §1.2) at DeepSeek shapes (bench_shapes.json "gemm_i8"): A [M, K] int8
// x W [K, N] int8 -> acc int32 and y bf16 (K1's q path: q_norm [t, 1536] x w_qb [1536, 8192];
// K3 V4-Flash qr: 1024 x 8192). The reference (api) and every row of kGemmI8Variants side by side.
//
// Variants (names gemm_i8/<variant>:<impl>/m:M/k:K/n:N/threads:T):
//   direct:*  opt::gemm_i8_run on row-major W (no set-up; the Invocation path for M < 13)
//   packed:*  opt::gemm_i8_run on weights prepacked once outside the timed loop (what fused
//             kernels with fixed weights run)
//   perpack:* pack W into a reused buffer, then the packed GEMM, every iteration (the Invocation
//             path for M >= 13)
//   pack:*    pack_i8_weights_into alone (the per-call cost perpack pays)
//   api:*     the backend through Backend::run() (bench/harness.h), with validate_call(); the
//             reference (single-threaded) at M <= 4 only (it needs ~1 ns per MAC)
// Weights stream from DRAM: every iteration uses another copy of W (and of the packed W) out
// of a pool of >= 96 MiB (3x L3), huge-page backed like the read-bandwidth probe's buffer.
// A, the scales and the outputs are one copy (the output is written, acc + y, every iteration).
//
// Counters: bytes = W (K·N) + A (M·K) + acc (4·M·N) + y (2·M·N) (+ scales); ops = 2·M·K·N
// (multiply + add per MAC, as the VNNI probe counts); frac_of_limit = max(bytes / read_gbs,
// ops / vnni_gops) / time. M = 1 is bandwidth bound; M = 1024 compute bound.
// pack: bytes = 2·K·N (read W, write packed), no ops.
#include <cstring>
#include <map>
#include <memory>
#include <vector>

#include "bench/harness.h"
#include "kcs/kernels/gemm_i8.h"
#include "optimized/gemm_i8.h"

namespace kcs::bench {
namespace {

constexpr double kPoolBytes = double(int64_t{96} << 20);
constexpr int64_t kRefMaxM = 4;  // the reference needs ~1 ns per MAC: 50 ms per row here

struct Mkn {
  int64_t m, k, n;
};

// Copies of W (and, per ISA, of its packed form), enough to overflow L3 between two uses of one.
struct WeightPool {
  int64_t copies = 0;
  int8_t* w = nullptr;
  std::map<int, std::vector<opt::PackedI8Weights>> packed;  // by Isa
};

WeightPool& pool(int64_t k, int64_t n) {
  static std::map<std::pair<int64_t, int64_t>, WeightPool> pools;
  WeightPool& p = pools[{k, n}];
  if (!p.w) {
    p.copies = copies_for(kPoolBytes, double(k * n), 1) + 1;
    p.w = stream_array<int8_t>(p.copies * k * n);
    fill_i8(p.w, p.copies * k * n, 7);
  }
  return p;
}

Work gemm_work(const Mkn& s) {
  Work w;
  w.bytes = static_cast<double>(s.k * s.n + s.m * s.k + s.m * s.n * 6 + (s.m + s.n) * 4);
  w.ops = 2.0 * static_cast<double>(s.m) * static_cast<double>(s.k) * static_cast<double>(s.n);
  w.peak = Peak::vnni;
  return w;
}

void bm_engine(benchmark::State& st, std::string v, Isa isa, Mkn s, int threads) {
  if (skip_unavailable(st, impl_of(isa))) return;
  WeightPool& wp = pool(s.k, s.n);
  std::vector<int8_t> a(static_cast<size_t>(s.m * s.k));
  fill_i8(a.data(), s.m * s.k, 3);
  const std::vector<float> s_row(static_cast<size_t>(s.m), 0.0123f), s_col(static_cast<size_t>(s.n), 0.00456f);
  int32_t* acc = stream_array<int32_t>(s.m * s.n);
  uint16_t* y = stream_array<uint16_t>(s.m * s.n);
  std::memset(acc, 0, static_cast<size_t>(s.m * s.n) * 4);
  std::memset(y, 0, static_cast<size_t>(s.m * s.n) * 2);
  const GemmI8Args g0{s.m, s.k, s.n, a.data(), s.k, nullptr, s.n, s_row.data(), s_col.data(), acc, s.n, y, s.n, DType::bf16};
  const opt::GemmI8Tiling tiling;  // the declaration's defaults: m_tile 64, n_tile 4096, k_block 0
  auto& pk = wp.packed[static_cast<int>(isa)];
  if (v == "packed" && pk.empty())
    for (int64_t i = 0; i < wp.copies; ++i) pk.push_back(opt::pack_i8_weights(isa, wp.w + i * s.k * s.n, s.n, s.k, s.n, 2));
  // The per-call packing buffer, reused like the adapter's (and touched once before timing).
  std::unique_ptr<uint8_t, decltype(&std::free)> buf{nullptr, &std::free};
  if (v == "perpack" || v == "pack") {
    const size_t bytes = opt::packed_i8_bytes(isa, s.k, s.n);
    buf.reset(stream_array<uint8_t>(static_cast<int64_t>(bytes)));
    std::memset(buf.get(), 0, bytes);
  }
  Work w = gemm_work(s);
  if (v == "pack") {
    w = Work();
    w.bytes = 2.0 * static_cast<double>(s.k * s.n);
  }
  timed(st, w, threads, wp.copies, [&](int64_t c) {
    GemmI8Args g = g0;
    g.w = wp.w + c * s.k * s.n;
    if (v == "direct") {
      opt::gemm_i8_run(isa, g, nullptr, tiling, threads);
    } else if (v == "packed") {
      opt::gemm_i8_run(isa, g, &pk[static_cast<size_t>(c)].view(), tiling, threads);
    } else {
      const opt::PackedI8View p = opt::pack_i8_weights_into(isa, g.w, s.n, s.k, s.n, threads, buf.get());
      if (v == "perpack") opt::gemm_i8_run(isa, g, &p, tiling, threads);
      benchmark::DoNotOptimize(p.data);
    }
  });
  std::free(acc);
  std::free(y);
}

}  // namespace

void register_benchmarks() {
  for (const Shape& sh : shapes("gemm_i8")) {
    const Mkn s{sh.i("m"), sh.i("k"), sh.i("n")};
    const std::string tail = sh.tail({"m", "k", "n"});
    ApiBench api{make_problem("gemm_i8", sh.dims({"m", "k", "n"}), {{"out_dtype", "bfloat16"}}), gemm_work(s)};
    api.pool_bytes = kPoolBytes;
    api.streamed = {"w"};
    if (s.m <= kRefMaxM) add(row_name("gemm_i8", "api", Impl::reference, tail, 1), bm_api, Impl::reference, api, 1);
    for_each_variant(opt::kGemmI8Variants, [&](const opt::GemmI8Variant& var, int threads) {
      const Impl impl = impl_of(var.isa);
      for (const char* v : {"direct", "packed", "perpack"}) {
        // The direct path re-interleaves W per 6-row tile: past M ~ 128 it is not a candidate.
        if ((v == std::string("direct") && s.m > 128) || (v == std::string("perpack") && s.m < 16)) continue;
        add(row_name("gemm_i8", v, impl, tail, threads), bm_engine, std::string(v), var.isa, s, threads);
      }
      if (s.m == 1 || s.m == 1024) add(row_name("gemm_i8", "api", impl, tail, threads), bm_api, impl, api, threads);
      if (s.m == 1) add(row_name("gemm_i8", "pack", impl, tail, threads), bm_engine, std::string("pack"), var.isa, s, threads);
    });
  }
}

}  // namespace kcs::bench
