// Q8 quantizer (spec §1.1) at DeepSeek shapes (bench_shapes.json "q8"): BF16 rows in, INT8 codes
// + FP32 scale out, rint, no floor. The reference (api) and every row of kQ8Variants side by side.
//
// Variants (names q8/<mode>:<impl>/rows:R/n:N/threads:T):
//   api:*   the backend through Backend::run() (bench/harness.h), including validate_call();
//           its check_inputs() rescans every row in scalar code (to reject subnormal-scale rows),
//           which costs more than the SIMD kernel itself, so the kernels are ALSO measured raw:
//   cold:*  the variant's rows entry with the adapter's row tiling (16 rows per OpenMP work item);
//           every iteration works on a different copy of the input out of a 128 MiB pool (4x L3),
//           so data streams from DRAM.
//   hot:*   the same calls on one buffer that stays in cache between iterations.
// The reference is single-threaded (it ignores the thread count): api:reference at threads:1 only.
//
// Counters: bytes = read n*2 + write n codes + 4 scale bytes per row; ops = quantized elements;
// frac_of_limit against the read bandwidth of this process (hot data can exceed 1).

#include <algorithm>

#include "bench/harness.h"
#include "kcs/kernels/q8.h"
#include "optimized/q8.h"

namespace kcs::bench {
namespace {

constexpr int64_t kRowTile = 16;  // the declaration's default row_tile, as the adapter uses it
constexpr int64_t kPoolElems = int64_t{64} << 20;  // 128 MiB of BF16 + 64 MiB of codes

Work q8_work(int64_t rows, int64_t n) {
  Work w;
  w.bytes = static_cast<double>(rows) * static_cast<double>(n * 2 + n + 4);
  w.ops = static_cast<double>(rows * n);
  return w;  // bandwidth bound
}

struct Pool {
  uint16_t* x = stream_array<uint16_t>(kPoolElems);
  int8_t* codes = stream_array<int8_t>(kPoolElems);
  float* scale = stream_array<float>(kPoolElems / 128);  // n >= 128
  Pool() {
    fill_bf16(x, kPoolElems, 1);
    std::fill(codes, codes + kPoolElems, int8_t{0});
    std::fill(scale, scale + kPoolElems / 128, 0.0f);
  }
};

void bm_raw(benchmark::State& st, const opt::Q8Variant& v, int64_t rows, int64_t n, int threads, bool cold) {
  static const Pool p;
  const int64_t per = rows * n;
  timed(st, q8_work(rows, n), threads, cold ? copies_for(kPoolElems, per) : 1, [&](int64_t k) {
    const opt::Q8Rows a{p.x + k * per, DType::bf16, n, Q8Params{}, p.codes + k * per, p.scale + k * rows, DType::fp32};
    for_tiles(rows, kRowTile, threads, [&](int64_t r0, int64_t r1) { v.rows(a, r0, r1); });
  });
}

}  // namespace

void register_benchmarks() {
  for (const Shape& s : shapes("q8")) {
    const int64_t rows = s.i("rows"), n = s.i("n");
    const ApiBench api{make_problem("q8", s.dims({"rows", "n"}),
                              {{"round_mode", "rint"}, {"amax_floor", "none"}, {"x_dtype", "bfloat16"},
                               {"scale_dtype", "float32"}}),
                 q8_work(rows, n)};
    add_rows<opt::Q8Variant>("q8", s.tail({"rows", "n"}), api, {"cold", "hot"}, opt::kQ8Variants,
                             [rows, n](benchmark::State& st, const opt::Q8Variant& v, int threads, bool cold) {
                               bm_raw(st, v, rows, n, threads, cold);
                             });
  }
}

}  // namespace kcs::bench
