// RMSNorm adapter: row tiles (knob row_tile) spread over threads. Rows are independent and each
// row's summation order is fixed (optimized/rmsnorm.h), so neither the tile size nor the thread
// count can change a bit.
#include "optimized/rmsnorm.h"

#include <algorithm>

#include "optimized/kernels.h"
#include "optimized/variants.h"

namespace kcs::opt {

Status rmsnorm(const Invocation& inv, Isa isa) {
  const Tensor& x = inv.in("x");
  const Tensor& g = inv.in("gamma");
  RmsNormRows a;
  a.x = x.data<uint16_t>();
  a.gamma = g.raw();
  a.gamma_f32 = g.dtype() == DType::fp32;
  const RmsNormParams rp = rmsnorm_params(*inv.problem);
  a.form = rp.form;
  a.n = x.row_len();
  // The binary32 constants, each rounded once from binary64 (scalar, not in the ISA files).
  a.eps = static_cast<float>(rp.eps);
  a.inv_n = static_cast<float>(1.0 / static_cast<double>(a.n));
  a.fn = static_cast<float>(a.n);
  a.y = inv.out("y").data<uint16_t>();
  const int64_t rows = x.rows();
  int64_t tile = inv.knob("row_tile");
  if (tile <= 0) tile = std::max<int64_t>(rows, 1);
  const int64_t tiles = (rows + tile - 1) / tile;
  auto fn = variant(kRmsNormVariants, isa).rows;
#pragma omp parallel for num_threads(inv.threads) schedule(static)
  for (int64_t t = 0; t < tiles; ++t) fn(a, t * tile, std::min(rows, (t + 1) * tile));
  return Status::Ok();
}

}  // namespace kcs::opt
