// Reference scatter_update (spec §1.6): the golden's token loop, byte copies, last token wins.
#include "kcs/kernels/scatter.h"

#include <cstring>

#include "kcs/backend.h"
#include "reference/kernels.h"

namespace kcs {

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

Status scatter(const Invocation& inv) {
  const Tensor& src = inv.in("src");
  const Tensor& index = inv.in("index");
  scatter_reference(scatter_geom(*inv.problem), inv.out("cache").raw(), src.raw(), index.data<int64_t>(), index.numel());
  return Status::Ok();
}

}  // namespace ref
}  // namespace kcs
