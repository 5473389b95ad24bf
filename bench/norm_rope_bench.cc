// Norms and RoPE (spec §1.3, §1.4) at DeepSeek shapes (bench_shapes.json "rmsnorm", "layernorm",
// "rope"): the reference (api) and every row of kRmsNormVariants, kLayerNormVariants and
// kRopeVariants; all bandwidth bound (a few flops per element).
//
// Variants (names <kernel>/<mode>/<mode>:<impl>/<dims>/threads:T):
//   api:*   the backend through Backend::run() (bench/harness.h), declaration checks included,
//           on one buffer that stays in cache between iterations;
//   cold:*  the variant's row / token entry with the adapter's tiling (16 rows or tokens per
//           OpenMP work item), every iteration on a different copy of the inputs and outputs out
//           of a 128 MiB pool (4x L3), so data streams from DRAM.
// The reference is single-threaded: api:reference at threads:1 only.
// Counters: bytes = inputs read + outputs written (tables and gamma/beta included); ops = output
// elements; frac_of_limit = (bytes / read bandwidth of this process) / achieved time.

#include <algorithm>
#include <cstring>

#include "bench/harness.h"
#include "optimized/layernorm.h"
#include "optimized/rmsnorm.h"
#include "optimized/rope.h"

namespace kcs::bench {
namespace {

constexpr size_t kInBytes = size_t{128} << 20, kOutBytes = size_t{64} << 20;
constexpr int64_t kTile = 16;

size_t round64(size_t b) { return (b + 63) / 64 * 64; }

// A problem and its per-call bytes (for the cold pool); raw_* call a variant on raw pointers.
struct Case {
  Problem p;
  Work work;
  size_t in_bytes = 0, out_bytes = 0;
};

// Raw layouts: rmsnorm [x bf16 rows*n | gamma n]; layernorm [x f32 rows*n | gamma | beta];
// rope [x bf16 T*H*D | cos T*W | sin T*W]; each part 64-byte aligned.
void raw_rmsnorm(const Problem& p, const opt::RmsNormVariant& v, const uint8_t* in, uint8_t* out, int threads) {
  const int64_t rows = p.dim("rows"), n = p.dim("n");
  opt::RmsNormRows a;
  a.x = reinterpret_cast<const uint16_t*>(in);
  a.gamma = in + round64(static_cast<size_t>(rows * n) * 2);
  a.gamma_f32 = p.attr("form") == "v4";
  a.form = a.gamma_f32 ? RmsNormForm::v4 : RmsNormForm::pypto;
  a.n = n, a.eps = 1e-6f;
  a.inv_n = static_cast<float>(1.0 / static_cast<double>(n)), a.fn = static_cast<float>(n);
  a.y = reinterpret_cast<uint16_t*>(out);
  for_tiles(rows, kTile, threads, [&](int64_t b, int64_t e) { v.rows(a, b, e); });
}

void raw_layernorm(const Problem& p, const opt::LayerNormVariant& v, const uint8_t* in, uint8_t* out, int threads) {
  const int64_t rows = p.dim("rows"), n = p.dim("n");
  opt::LayerNormRows a;
  a.x = reinterpret_cast<const float*>(in);
  a.gamma = reinterpret_cast<const uint16_t*>(in + round64(static_cast<size_t>(rows * n) * 4));
  a.beta = a.gamma + round64(static_cast<size_t>(n) * 2) / 2;
  a.n = n, a.eps = 1e-6f;
  a.inv_n = static_cast<float>(1.0 / static_cast<double>(n));
  a.y = reinterpret_cast<uint16_t*>(out);
  for_tiles(rows, kTile, threads, [&](int64_t b, int64_t e) { v.rows(a, b, e); });
}

void raw_rope(const Problem& p, const opt::RopeVariant& v, const uint8_t* in, uint8_t* out, int threads) {
  const int64_t T = p.dim("T"), H = p.dim("H"), D = p.dim("D"), R = p.dim("R"), W = p.dim("W");
  const bool f32 = p.attr("table_dtype") == "float32";
  opt::RopeArgs a;
  a.x = reinterpret_cast<const uint16_t*>(in);
  a.y = reinterpret_cast<uint16_t*>(out);
  a.H = H, a.D = D, a.R = R;
  a.off = p.attr("slice") == "last" ? D - R : 0;
  a.mode = p.attr("mode") == "pair" ? RopeMode::pair : (p.attr("mode") == "v2" ? RopeMode::v2 : RopeMode::half);
  a.cos = in + round64(static_cast<size_t>(T * H * D) * 2);
  a.sin = static_cast<const uint8_t*>(a.cos) + round64(static_cast<size_t>(T * W) * (f32 ? 4 : 2));
  a.table_f32 = f32;
  a.half_table = p.attr("table") == "half";
  for_tiles(T, kTile, threads, [&](int64_t b, int64_t e) { v.tokens(a, b, e); });
}

Case norm_case(const std::string& kernel, const Shape& s) {
  const int64_t rows = s.i("rows"), n = s.i("n");
  Case c;
  c.p = make_problem(kernel, s.dims({"rows", "n"}), s.attrs());
  const bool ln = kernel == "layernorm";
  const size_t xb = ln ? 4 : 2, gb = s.s("mode") == "v4" ? 4 : 2;
  const double elems = static_cast<double>(rows * n);
  c.work.bytes = elems * static_cast<double>(xb + 2) + static_cast<double>(n) * static_cast<double>(ln ? 4 : gb);
  c.work.ops = elems;
  c.in_bytes = round64(static_cast<size_t>(rows * n) * xb) + 2 * round64(static_cast<size_t>(n) * 4);
  c.out_bytes = round64(static_cast<size_t>(rows * n) * 2);
  return c;
}

Case rope_case(const Shape& s) {
  const Attrs at = s.attrs();
  const bool half = at.count("table") && at.at("table") == "half";
  const bool f32 = at.count("table_dtype") && at.at("table_dtype") == "float32";
  const int64_t T = s.i("T"), H = s.i("H"), D = s.i("D"), R = s.i("R");
  Dims d = s.dims({"T", "H", "D", "R"});
  d["W"] = half ? R / 2 : R;
  Case c;
  c.p = make_problem("rope", d, at);
  const size_t tb = static_cast<size_t>(T * d["W"]) * (f32 ? 4 : 2);
  c.work.bytes = static_cast<double>(T * H * D) * 4 + 2 * static_cast<double>(tb);
  c.work.ops = static_cast<double>(T * H * D);
  c.in_bytes = round64(static_cast<size_t>(T * H * D) * 2) + 2 * round64(tb);
  c.out_bytes = round64(static_cast<size_t>(T * H * D) * 2);
  return c;
}

// raw(in, out) on a new copy of the data every iteration.
template <class Raw>
void bm_cold(benchmark::State& st, const Case& c, int threads, Raw&& raw) {
  static uint8_t* const in = [] {
    uint8_t* p = stream_array<uint8_t>(kInBytes);
    fill_bf16(reinterpret_cast<uint16_t*>(p), static_cast<int64_t>(kInBytes / 2), 1);
    return p;
  }();
  static uint8_t* const out = [] {
    uint8_t* p = stream_array<uint8_t>(kOutBytes);
    std::memset(p, 0, kOutBytes);
    return p;
  }();
  const int64_t copies = std::max<int64_t>(1, std::min(kInBytes / c.in_bytes, kOutBytes / c.out_bytes));
  timed(st, c.work, threads, copies, [&](int64_t k) { raw(in + k * c.in_bytes, out + k * c.out_bytes); });
}

template <class V, size_t N>
void register_case(const std::string& family, const Case& c, const V (&list)[N],
                   void (*raw)(const Problem&, const V&, const uint8_t*, uint8_t*, int)) {
  std::string tail;
  for (const auto& [k, v] : c.p.dims) tail += (tail.empty() ? "" : "/") + k + ":" + std::to_string(v);
  add_rows<V>(family, tail, ApiBench{c.p, c.work}, {"cold"}, list, [c, raw](benchmark::State& st, const V& v, int threads, bool) {
    bm_cold(st, c, threads, [&](const uint8_t* in, uint8_t* out) { raw(c.p, v, in, out, threads); });
  });
}

}  // namespace

void register_benchmarks() {
  for (const Shape& s : shapes("rmsnorm"))
    register_case("rmsnorm/" + s.s("mode"), norm_case("rmsnorm", s), opt::kRmsNormVariants, &raw_rmsnorm);
  for (const Shape& s : shapes("layernorm"))
    register_case("layernorm/" + s.s("mode"), norm_case("layernorm", s), opt::kLayerNormVariants, &raw_layernorm);
  for (const Shape& s : shapes("rope")) register_case("rope/" + s.s("mode"), rope_case(s), opt::kRopeVariants, &raw_rope);
}

}  // namespace kcs::bench
