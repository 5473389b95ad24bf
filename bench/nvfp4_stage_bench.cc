// K4 NVFP4 staging kernel (spec §6) at DeepSeek V4 shapes (bench_shapes.json "nvfp4_stage"): BF16
// hidden rows in, packed E2M1 codes + UE4M3 scales out, top-k ids (int32 -> int64) and weights
// copied; default modes (ties away, staging-exact scales). The reference (api) and every row of
// kNvfp4StageVariants.
//
// Variants (names nvfp4_stage/<mode>:<impl>/M:m/K:k/threads:T):
//   api:*   the backend through Backend::run() (bench/harness.h), including validate_call();
//           one buffer, so it stays in cache when it fits (M <= 128: 1.8 MiB of BF16);
//   cold:*  the optimized adapter's work split (16-token tiles, whole rows, top-k copy in the
//           same item), each iteration on a different copy of the inputs out of a 256 MiB pool
//           (8x L3), so data streams from DRAM.
// The reference is single-threaded: api:reference at threads:1 only.
//
// Counters: bytes = read 2K + 8 top_k, write K/2 + K/16 + 12 top_k per token; ops = quantized
// elements; frac_of_limit against the read bandwidth of this process.

#include <algorithm>

#include "bench/harness.h"
#include "kcs/kernels/nvfp4_stage.h"
#include "optimized/nvfp4_quant.h"
#include "optimized/nvfp4_stage.h"
#include "optimized/variants.h"

namespace kcs::bench {
namespace {

constexpr int64_t kRowTile = 16;  // the declaration's default row_tile (block_k default: whole row)
constexpr int64_t kPoolElems = int64_t{128} << 20;  // 256 MiB of BF16 + 72 MiB of codes
constexpr int64_t kMaxTopk = 8;                     // top-k slots per pooled token (top_k <= 8)

Work stage_work(int64_t m, int64_t k, int64_t top_k) {
  Work w;
  w.bytes = static_cast<double>(m) * static_cast<double>(k * 2 + k / 2 + k / 16 + top_k * (4 + 4 + 8 + 4));
  w.ops = static_cast<double>(m * k);
  return w;  // bandwidth bound
}

void fill_topk(int32_t* ids, float* w, int64_t count, int64_t top_k) {
  for (int64_t i = 0; i < count; ++i) {
    ids[i] = static_cast<int32_t>((i * 37) % 384);
    w[i] = 1.0f / static_cast<float>(top_k);
  }
}

struct Buffers {
  uint16_t* x;
  uint8_t* fp4;
  int32_t* sf;
  int32_t* ids;
  float* w;
  int64_t* idx_out;
  float* w_out;
};

struct Pool : Buffers {
  static constexpr int64_t kTopkSlots = kPoolElems / 4096 * kMaxTopk;  // the smallest K's tokens
  Pool()
      : Buffers{stream_array<uint16_t>(kPoolElems), stream_array<uint8_t>(kPoolElems / 2),
                stream_array<int32_t>(kPoolElems / 64), stream_array<int32_t>(kTopkSlots),
                stream_array<float>(kTopkSlots), stream_array<int64_t>(kTopkSlots), stream_array<float>(kTopkSlots)} {
    fill_bf16(x, kPoolElems, 1);
    std::fill(fp4, fp4 + kPoolElems / 2, uint8_t{0});
    std::fill(sf, sf + kPoolElems / 64, 0);
    std::fill(idx_out, idx_out + kTopkSlots, int64_t{0});
    std::fill(w_out, w_out + kTopkSlots, 0.0f);
    fill_topk(ids, w, kTopkSlots, 6);
  }
};

// The adapter's pairing: the quantizer of kNvfp4QuantVariants, the top-k of kNvfp4StageVariants.
void run_raw(const opt::Nvfp4StageVariant& v, const Buffers& b, int64_t m, int64_t k, int64_t top_k, int threads) {
  const opt::Nvfp4Rows a{b.x, DType::bf16, k, k, Nvfp4Params{}, b.fp4, b.sf};
  const opt::Nvfp4Topk t{b.ids, DType::i32, b.w, top_k, b.idx_out, b.w_out};
  auto quant = opt::variant(opt::kNvfp4QuantVariants, v.isa).quant;
  auto topk = v.topk;
  for_tiles(m, kRowTile, threads, [&](int64_t r0, int64_t r1) {
    quant(a, r0, r1, 0, k / 128);
    topk(t, r0, r1);
  });
}

void bm_cold(benchmark::State& st, const opt::Nvfp4StageVariant& v, int64_t m, int64_t k, int64_t top_k, int threads) {
  static const Pool p;
  const int64_t per = m * k;
  timed(st, stage_work(m, k, top_k), threads, copies_for(kPoolElems, per), [&](int64_t c) {
    const int64_t tk = c * m * top_k;
    const Buffers b{p.x + c * per, p.fp4 + c * per / 2, p.sf + c * per / 64, p.ids + tk, p.w + tk,
                    p.idx_out + tk, p.w_out + tk};
    run_raw(v, b, m, k, top_k, threads);
  });
}

}  // namespace

void register_benchmarks() {
  for (const Shape& s : shapes("nvfp4_stage")) {
    const int64_t m = s.i("M"), k = s.i("K"), top_k = s.i("top_k");
    const ApiBench api{make_problem("nvfp4_stage", s.dims({"M", "K", "top_k"})), stage_work(m, k, top_k)};
    add_rows<opt::Nvfp4StageVariant>("nvfp4_stage", s.tail({"M", "K"}), api, {"cold"}, opt::kNvfp4StageVariants,
                                     [m, k, top_k](benchmark::State& st, const opt::Nvfp4StageVariant& v, int threads, bool) {
                                       bm_cold(st, v, m, k, top_k, threads);
                                     });
  }
}

}  // namespace kcs::bench
