// LayerNorm adapter: row tiles (knob row_tile) spread over threads. Rows are independent and each
// row's summation order is fixed (optimized/layernorm.h), so neither the tile size nor the thread
// count can change a bit.
#include "optimized/layernorm.h"

#include <algorithm>

#include "optimized/kernels.h"
#include "optimized/variants.h"

namespace kcs::opt {

Status layernorm(const Invocation& inv, Isa isa) {
  const Tensor& x = inv.in("x");
  LayerNormRows a;
  a.x = x.data<float>();
  a.gamma = inv.in("gamma").data<uint16_t>();
  a.beta = inv.in("beta").data<uint16_t>();
  a.n = x.row_len();
  a.eps = static_cast<float>(inv.problem->attr_f64("eps"));
  a.inv_n = static_cast<float>(1.0 / static_cast<double>(a.n));
  a.y = inv.out("y").data<uint16_t>();
  const int64_t rows = x.rows();
  int64_t tile = inv.knob("row_tile");
  if (tile <= 0) tile = std::max<int64_t>(rows, 1);
  const int64_t tiles = (rows + tile - 1) / tile;
  auto fn = variant(kLayerNormVariants, isa).rows;
#pragma omp parallel for num_threads(inv.threads) schedule(static)
  for (int64_t t = 0; t < tiles; ++t) fn(a, t * tile, std::min(rows, (t + 1) * tile));
  return Status::Ok();
}

}  // namespace kcs::opt
