// RoPE adapter: token tiles (knob token_tile) spread over threads. Every element is computed by
// the same binary32 formula whatever tile or thread it falls in, so neither changes a bit.
#include "optimized/rope.h"

#include <algorithm>

#include "optimized/kernels.h"
#include "optimized/variants.h"

namespace kcs::opt {

Status rope(const Invocation& inv, Isa isa) {
  const RopeParams rp = rope_params(*inv.problem);
  RopeArgs a;
  a.x = inv.in("x").data<uint16_t>();
  a.y = inv.out("y").data<uint16_t>();
  a.H = rp.H;
  a.D = rp.D;
  a.R = rp.R;
  a.off = rp.off;
  a.mode = rp.mode;
  a.cos = inv.in("cos").raw();
  a.sin = inv.in("sin").raw();
  a.table_f32 = inv.in("cos").dtype() == DType::fp32;
  a.half_table = rp.half_table;
  const int64_t T = rp.T;
  int64_t tile = inv.knob("token_tile");
  if (tile <= 0) tile = std::max<int64_t>(T, 1);
  const int64_t tiles = (T + tile - 1) / tile;
  auto fn = variant(kRopeVariants, isa).tokens;
#pragma omp parallel for num_threads(inv.threads) schedule(static)
  for (int64_t t = 0; t < tiles; ++t) fn(a, t * tile, std::min(T, (t + 1) * tile));
  return Status::Ok();
}

}  // namespace kcs::opt
