// Q8 quantizer (spec §1.1) at DeepSeek shapes (bench_shapes.json "q8"): BF16 rows in, INT8 codes
// + FP32 scale out, rint, no floor. Reference and every ISA variant side by side.
//
// Variants (names q8/<mode>:<impl>/rows:R/n:N/threads:T):
//   api:*   the backend through Backend::run() (bench/harness.h), including validate_call();
//           its check_inputs() rescans every row in scalar code (to reject subnormal-scale rows),
//           which costs more than the SIMD kernel itself, so the kernels are ALSO measured raw:
//   cold:*  opt::q8_rows_* with the adapter's row tiling (16 rows per OpenMP work item), or
//           q8_row_reference per row for the reference; every iteration works on a different
//           copy of the input out of a 128 MiB pool (4x L3), so data streams from DRAM.
//   hot:*   the same calls on one buffer that stays in cache between iterations.
// The reference is single-threaded (ref::q8 ignores the thread count): it runs at threads:1 only.
//
// Counters: bytes = read n*2 + write n codes + 4 scale bytes per row; ops = quantized elements;
// frac_of_limit against the read bandwidth of this process (hot data can exceed 1).

#include <algorithm>
#include <vector>

#include "bench/harness.h"
#include "kcs/formats.h"
#include "kcs/kernels/q8.h"
#include "optimized/q8.h"
#include "reference/primitives.h"

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

void run_raw(Impl impl, const uint16_t* x, int8_t* codes, float* scale, int64_t rows, int64_t n, int threads,
             std::vector<float>& row) {
  if (impl == Impl::reference) {
    const Q8Params q;
    for (int64_t r = 0; r < rows; ++r) {
      for (int64_t j = 0; j < n; ++j) row[static_cast<size_t>(j)] = bf16_to_float(x[r * n + j]);
      scale[r] = q8_row_reference(row.data(), n, q, codes + r * n);
    }
    return;
  }
  const opt::Q8Rows a{x, DType::bf16, n, Q8Params{}, codes, scale, DType::fp32};
  auto fn = impl == Impl::avx512 ? &opt::q8_rows_avx512 : &opt::q8_rows_avx2;
  for_tiles(rows, kRowTile, threads, [&](int64_t r0, int64_t r1) { fn(a, r0, r1); });
}

void bm_raw(benchmark::State& st, Impl impl, int64_t rows, int64_t n, int threads, bool cold) {
  static const Pool p;
  const int64_t per = rows * n;
  std::vector<float> row(static_cast<size_t>(n));
  timed(st, q8_work(rows, n), threads, cold ? copies_for(kPoolElems, per) : 1, [&](int64_t k) {
    run_raw(impl, p.x + k * per, p.codes + k * per, p.scale + k * rows, rows, n, threads, row);
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
    add_rows("q8", s.tail({"rows", "n"}), api, {"cold", "hot"}, [rows, n](benchmark::State& st, Impl impl, int threads, bool cold) {
      bm_raw(st, impl, rows, n, threads, cold);
    }, true);
  }
}

}  // namespace kcs::bench
