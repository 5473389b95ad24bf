// Reference scatter_update (spec §1.6): the golden's token loop, byte copies, last token wins.
#include "kcs/kernels/scatter.h"

#include <cstring>

#include "kcs/backend.h"
#include "reference/kernels.h"

namespace kcs {

bool parse_cache_layout(const std::string& s, CacheLayout* out) {
  if (s == "PA_BSND") {
    *out = CacheLayout::pa_bsnd;
    return true;
  }
  if (s == "PA_NZ") {
    *out = CacheLayout::pa_nz;
    return true;
  }
  return false;
}

int64_t scatter_elem_offset(const ScatterGeom& g, int64_t row, int64_t d) {
  if (g.layout == CacheLayout::pa_bsnd) return row * g.D + d;
  const int64_t blk = row / g.block_size, slot = row % g.block_size, c0 = g.c0();
  return blk * g.block_size * g.D + (d / c0) * g.block_size * c0 + slot * c0 + d % c0;
}

void scatter_reference(const ScatterGeom& g, void* cache, const void* src, const int64_t* index, int64_t T) {
  auto* dst = static_cast<uint8_t*>(cache);
  const auto* s = static_cast<const uint8_t*>(src);
  const size_t es = g.elem_size;
  for (int64_t i = 0; i < T; ++i) {
    const int64_t idx = index[i];
    if (idx < 0) continue;  // padding token
    if (idx >= g.capacity()) throw Error("scatter: index[" + std::to_string(i) + "] out of range");
    // Element by element through the layout formula: the plainest statement of where each
    // element goes (the optimized code copies whole rows / fractal rows).
    for (int64_t d = 0; d < g.D; ++d)
      std::memcpy(dst + static_cast<size_t>(scatter_elem_offset(g, idx, d)) * es,
                  s + static_cast<size_t>(i * g.D + d) * es, es);
  }
}

namespace ref {

ScatterGeom scatter_geom(const Invocation& inv) {
  ScatterGeom g;
  const Tensor& cache = inv.out("cache");
  g.block_num = inv.dim("block_num");
  g.block_size = inv.dim("block_size");
  g.D = inv.dim("D");
  g.elem_size = dtype_size(cache.dtype());
  if (!parse_cache_layout(inv.attr("cache_layout"), &g.layout))
    throw Error("scatter: unknown cache_layout '" + inv.attr("cache_layout") + "'");
  return g;
}

Status scatter(const Invocation& inv) {
  const Tensor& src = inv.in("src");
  const Tensor& index = inv.in("index");
  scatter_reference(scatter_geom(inv), inv.out("cache").raw(), src.raw(), index.data<int64_t>(), index.numel());
  return Status::Ok();
}

}  // namespace ref
}  // namespace kcs
