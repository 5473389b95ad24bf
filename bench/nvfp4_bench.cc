// NVFP4 quantizer (spec §6.3, the K4 staging coder) at DeepSeek V4 shapes (bench_shapes.json
// "nvfp4"): BF16 rows in, packed E2M1 codes + UE4M3 scales out, default modes (ties away,
// staging-exact scales). The reference (api) and every row of kNvfp4QuantVariants side by side.
//
// Variants (names nvfp4/<mode>:<impl>/M:m/K:k/threads:T):
//   api:*   the backend through Backend::run() (bench/harness.h), including validate_call();
//   cold:*  the variant's quant entry with the adapter's default work split (16-row tiles, whole
//           rows); every iteration works on a different copy of the input out of a 256 MiB pool
//           (8x L3), so data streams from DRAM;
//   hot:*   the same calls on one buffer that stays in cache between iterations.
// The reference is single-threaded: api:reference at threads:1 only.
//
// Counters: bytes = read 2K + write K/2 codes + K/16 scale bytes per row; ops = quantized
// elements; frac_of_limit against the read bandwidth of this process (hot data can exceed 1).

#include <algorithm>

#include "bench/harness.h"
#include "kcs/kernels/nvfp4_quant.h"
#include "optimized/nvfp4_quant.h"

namespace kcs::bench {
namespace {

constexpr int64_t kRowTile = 16;  // the declaration's default row_tile (block_k default: whole row)
constexpr int64_t kPoolElems = int64_t{128} << 20;  // 256 MiB of BF16 + 64 MiB of codes

Work nvfp4_work(int64_t m, int64_t k) {
  Work w;
  w.bytes = static_cast<double>(m) * static_cast<double>(k * 2 + k / 2 + k / 16);
  w.ops = static_cast<double>(m * k);
  return w;  // bandwidth bound
}

struct Pool {
  uint16_t* x = stream_array<uint16_t>(kPoolElems);
  uint8_t* fp4 = stream_array<uint8_t>(kPoolElems / 2);
  int32_t* sf = stream_array<int32_t>(kPoolElems / 64);
  Pool() {
    fill_bf16(x, kPoolElems, 1);
    std::fill(fp4, fp4 + kPoolElems / 2, uint8_t{0});
    std::fill(sf, sf + kPoolElems / 64, 0);
  }
};

void bm_raw(benchmark::State& st, const opt::Nvfp4QuantVariant& v, int64_t m, int64_t k, int threads, bool cold) {
  static const Pool p;
  const int64_t per = m * k;
  timed(st, nvfp4_work(m, k), threads, cold ? copies_for(kPoolElems, per) : 1, [&](int64_t c) {
    const opt::Nvfp4Rows a{p.x + c * per, DType::bf16, k, k, Nvfp4Params{}, p.fp4 + c * per / 2, p.sf + c * per / 64};
    for_tiles(m, kRowTile, threads, [&](int64_t r0, int64_t r1) { v.quant(a, r0, r1, 0, k / 128); });
  });
}

}  // namespace

void register_benchmarks() {
  for (const Shape& s : shapes("nvfp4")) {
    const int64_t m = s.i("M"), k = s.i("K");
    const ApiBench api{make_problem("nvfp4_quant", s.dims({"M", "K"})), nvfp4_work(m, k)};
    add_rows<opt::Nvfp4QuantVariant>("nvfp4", s.tail({"M", "K"}), api, {"cold", "hot"}, opt::kNvfp4QuantVariants,
                                     [m, k](benchmark::State& st, const opt::Nvfp4QuantVariant& v, int threads, bool cold) {
                                       bm_raw(st, v, m, k, threads, cold);
                                     });
  }
}

}  // namespace kcs::bench
