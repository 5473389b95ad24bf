// Scatter geometry (spec §1.6), parsed once for the declaration and both backends.
#include "kcs/kernels/scatter.h"

#include <string>

#include "kcs/decl.h"
#include "kcs/dtype.h"
#include "kcs/status.h"

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

ScatterGeom scatter_geom(const Problem& p) {
  ScatterGeom g;
  g.block_num = p.dim("block_num");
  g.block_size = p.dim("block_size");
  g.D = p.dim("D");
  DType t{};
  if (!parse_dtype(p.attr("dtype"), &t)) throw Error("scatter: dtype '" + p.attr("dtype") + "' is not a dtype name");
  g.elem_size = dtype_size(t);
  if (!parse_cache_layout(p.attr("cache_layout"), &g.layout))
    throw Error("scatter: unknown cache_layout '" + p.attr("cache_layout") + "'");
  return g;
}
}  // namespace kcs
