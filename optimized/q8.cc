// Q8 adapter: row tiles (knob row_tile) spread over threads. Rows are independent, so neither
// the tile size nor the thread count can change a bit.
#include "optimized/q8.h"

#include <algorithm>

#include "optimized/kernels.h"
#include "optimized/variants.h"

namespace kcs::opt {

Status q8(const Invocation& inv, Isa isa) {
  const Tensor& x = inv.in("x");
  Q8Rows a;
  a.x = x.raw();
  a.x_dtype = x.dtype();
  a.n = x.row_len();
  a.params = q8_params(*inv.problem);
  a.codes = inv.out("codes").data<int8_t>();
  a.scale = inv.out("scale").raw();
  a.scale_dtype = inv.out("scale").dtype();
  const int64_t rows = x.rows();
  int64_t tile = inv.knob("row_tile");
  if (tile <= 0) tile = std::max<int64_t>(rows, 1);
  const int64_t tiles = (rows + tile - 1) / tile;
  auto fn = variant(kQ8Variants, isa).rows;
#pragma omp parallel for num_threads(inv.threads) schedule(static)
  for (int64_t t = 0; t < tiles; ++t) fn(a, t * tile, std::min(rows, (t + 1) * tile));
  return Status::Ok();
}

}  // namespace kcs::opt
