// Paged-cache scatter_update (spec §1.6) and gated softmax pooling (spec §7.4) at DeepSeek
// shapes (bench_shapes.json "softmax_pool", "scatter"): the reference (api) and every row of
// kSoftmaxPoolVariants / kScatterVariants.
//   softmax_pool: M x C window, n_blocks; BF16 values, fp32 logits, fp32 out.
//   scatter: T tokens into a 128-slot-block cache of 256 MiB (cold) at random rows.
//
// Variants (names <kernel>/<mode>:<impl>/<shape>/threads:T):
//   api:*   the backend through Backend::run() (bench/harness.h) on one set of tensors from the
//           fixture generator (validate_call included; for scatter its check_inputs scans the
//           indices), a 32 MiB (L3-sized) cache for scatter.
//   cold:*  the optimized driver (opt::softmax_pool_run with cols_per_cta = 128 / opt::scatter_run
//           with token_tile = 64) on raw pointers; each iteration uses a different copy of the
//           inputs out of a pool far larger than L3 (and, for scatter, a 256 MiB cache), so
//           data streams from DRAM.
//   hot:*   the same on one buffer that stays in cache between iterations (pool only).
// The reference is single-threaded: it runs at threads:1 (api only).
//
// Counters: bytes = what must cross the memory interface:
//   softmax_pool: logits 4 B + values 2 B per window element, 4 B per output;
//   scatter: src row read + the cache row's 64-byte lines read for ownership and written back
//   (rows of a few bytes cost a whole line each way; random rows make them latency-bound).
// ops = window elements (softmax_pool, one exp each) or tokens (scatter). The pool kernel
// executes about 30 vector instructions per 16 window elements (exp, BF16 widening, binary64
// sums), so at one thread it can be compute-bound below the bandwidth limit: frac_of_limit then
// says how far the stream is from DRAM speed, not a compute efficiency.

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "bench/harness.h"
#include "optimized/scatter.h"
#include "optimized/softmax_pool.h"

namespace kcs::bench {
namespace {

constexpr int64_t kPoolElems = int64_t{48} << 20;  // 192 MiB of logits + 96 MiB of values
constexpr size_t kCacheBytes = size_t{256} << 20, kSrcPoolBytes = size_t{128} << 20;

Work pool_work(int64_t nb, int64_t M, int64_t C) {
  Work w;
  w.bytes = static_cast<double>(nb * M * C) * 6.0 + static_cast<double>(nb * C) * 4.0;
  w.ops = static_cast<double>(nb * M * C);
  return w;
}

Work scatter_work(int64_t D, DType dtype, int64_t T) {
  Work w;  // a cache row costs whole 64-byte lines: read for ownership, then written back
  const double rb = static_cast<double>(D) * static_cast<double>(dtype_size(dtype));
  w.bytes = static_cast<double>(T) * (rb + 2.0 * std::ceil(rb / 64.0) * 64.0);
  w.ops = static_cast<double>(T);
  return w;
}

void bm_pool_raw(benchmark::State& st, Isa isa, int64_t nb, int64_t M, int64_t C, int threads, bool cold) {
  static const struct Buffers {
    float* z = stream_array<float>(kPoolElems);
    uint16_t* v = stream_array<uint16_t>(kPoolElems);
    float* out = stream_array<float>(kPoolElems / 8);  // M >= 8
    Buffers() {
      uint64_t s = 0x9E3779B97F4A7C16ull;  // score-like logits in [-4, 4)
      for (int64_t i = 0; i < kPoolElems; ++i) z[i] = static_cast<float>(static_cast<int32_t>(xorshift(s) >> 32)) * 0x1p-29f;
      fill_bf16(v, kPoolElems, 1);
      std::fill(out, out + kPoolElems / 8, 0.0f);
    }
  } b;
  const int64_t per = nb * M * C;
  timed(st, pool_work(nb, M, C), threads, cold ? copies_for(kPoolElems, per) : 1, [&](int64_t k) {
    opt::softmax_pool_run(b.z + k * per, b.v + k * per, true, nb, M, C, b.out + k * nb * C, isa, threads, 128);
  });
}

void bm_scatter_cold(benchmark::State& st, Isa isa, int64_t D, DType dtype, int64_t T, int64_t bs, int threads) {
  static uint8_t* const cache = [] {
    uint8_t* p = stream_array<uint8_t>(kCacheBytes);
    std::memset(p, 0x11, kCacheBytes);
    return p;
  }();
  static uint8_t* const src = [] {
    uint8_t* p = stream_array<uint8_t>(kSrcPoolBytes);
    for (size_t i = 0; i < kSrcPoolBytes; ++i) p[i] = static_cast<uint8_t>(i * 131 + 7);
    return p;
  }();
  opt::ScatterCall c;
  c.g.block_size = bs;
  c.g.D = D;
  c.g.elem_size = dtype_size(dtype);
  const size_t rb = static_cast<size_t>(D) * c.g.elem_size;
  c.g.block_num = static_cast<int64_t>(kCacheBytes / (rb * static_cast<size_t>(bs)));
  // Consecutive iterations take consecutive windows of T random rows out of a list that names
  // 128 MiB of cache lines (4x L3), so the rows written are cold; repeats inside a window are
  // rare and harmless (the single-threaded path writes in token order).
  const int64_t sets = copies_for(double(int64_t{128} << 20), double(std::max<size_t>(rb, 64)) * double(T));
  std::vector<int64_t> rows(static_cast<size_t>(sets * T));
  uint64_t seed = 12345;
  for (auto& r : rows) r = static_cast<int64_t>(xorshift(seed) % static_cast<uint64_t>(c.g.capacity()));
  const int64_t src_copies = copies_for(double(kSrcPoolBytes), double(rb) * double(T));
  c.cache = cache;
  c.T = T;
  int64_t k = 0;  // windows and source copies cycle independently
  timed(st, scatter_work(D, dtype, T), threads, 1, [&](int64_t) {
    c.index = rows.data() + (k % sets) * T;
    c.src = src + static_cast<size_t>(k % src_copies) * rb * static_cast<size_t>(T);
    opt::scatter_run(c, isa, threads, 64);
    ++k;
  });
}

}  // namespace

void register_benchmarks() {
  for (const Shape& s : shapes("softmax_pool")) {
    const int64_t nb = s.i("n_blocks"), M = s.i("M"), C = s.i("C");
    const ApiBench api{make_problem("softmax_pool", s.dims({"n_blocks", "M", "C"})), pool_work(nb, M, C)};
    const std::string tail = s.s("name") + "/" + s.tail({"M", "C", "n_blocks"});
    add_rows<opt::SoftmaxPoolVariant>("softmax_pool", tail, api, {"cold", "hot"}, opt::kSoftmaxPoolVariants,
                                      [nb, M, C](benchmark::State& st, const opt::SoftmaxPoolVariant& v, int threads, bool cold) {
                                        bm_pool_raw(st, v.isa, nb, M, C, threads, cold);
                                      });
  }
  for (const Shape& s : shapes("scatter")) {
    DType dt;
    if (!parse_dtype(s.s("dtype"), &dt)) throw Error("scatter bench: bad dtype " + s.s("dtype"));
    const int64_t D = s.i("D"), T = s.i("T"), bs = s.i("block_size");
    const double rb = static_cast<double>(D) * static_cast<double>(dtype_size(dt));
    Dims d = s.dims({"T", "D", "block_size"});
    d["block_num"] = copies_for(double(size_t{32} << 20), rb * static_cast<double>(bs));
    const ApiBench api{make_problem("scatter", d, {{"dtype", s.s("dtype")}}), scatter_work(D, dt, T)};
    const std::string tail = s.s("name") + "/" + s.tail({"D", "T"});
    add_rows<opt::ScatterVariant>("scatter", tail, api, {"cold"}, opt::kScatterVariants,
                                  [D, dt, T, bs](benchmark::State& st, const opt::ScatterVariant& v, int threads, bool) {
                                    bm_scatter_cold(st, v.isa, D, dt, T, bs, threads);
                                  });
  }
}

}  // namespace kcs::bench
