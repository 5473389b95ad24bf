// AMX INT8 limit probe (built with the AMX flags; called only when kcs::cpu_features() runs the
// amx variant, which also means this process was granted tile data, see kcs/cpu.h).
// Independent tdpbssd chains on 16 x 64-byte tiles: each product is 16 x 16 x 64 int8 products,
// 2 ops (multiply, add) each, as the VNNI probe counts them. No kcs header inline functions or
// std:: templates here (see limits_avx512.cc).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop

#include <cstdint>

#include "bench/limits_probes.h"
#include "optimized/amx/tiles.h"

namespace kcs::bench::probe {

namespace {

thread_local volatile int g_sink_amx;

}  // namespace

double amx_int8(int64_t iters) {
  const opt::TileShape shapes[8] = {{16, 64}, {16, 64}, {16, 64}, {16, 64}, {16, 64}, {16, 64}, {16, 64}, {16, 64}};
  alignas(64) int8_t a[16 * 64], b[16 * 64];  // constant operands: int32 sums wrap harmlessly
  for (int i = 0; i < 16 * 64; ++i) {
    a[i] = static_cast<int8_t>(i % 7 - 3);
    b[i] = static_cast<int8_t>(i % 5 - 2);
  }
  opt::amx_tiles_config(shapes, 8);  // not _tile_loadconfig, nor _tile_loadd/_stored: see tiles.h
  KCS_TILE_LOADD(6, a, 64);
  KCS_TILE_LOADD(7, b, 64);
  // 6 accumulator chains: more than the tile unit's latency / throughput on Sapphire Rapids.
  _tile_zero(0);
  _tile_zero(1);
  _tile_zero(2);
  _tile_zero(3);
  _tile_zero(4);
  _tile_zero(5);
  for (int64_t k = 0; k < iters; ++k) {
    _tile_dpbssd(0, 6, 7);
    _tile_dpbssd(1, 6, 7);
    _tile_dpbssd(2, 6, 7);
    _tile_dpbssd(3, 6, 7);
    _tile_dpbssd(4, 6, 7);
    _tile_dpbssd(5, 6, 7);
  }
  alignas(64) int32_t c[16 * 16];
  int s = 0;
  KCS_TILE_STORED(0, c, 64);
  s += c[0];
  KCS_TILE_STORED(5, c, 64);
  s += c[255];
  opt::amx_tiles_release();
  g_sink_amx = s;
  return static_cast<double>(iters) * 6 * 16 * 16 * 64 * 2;
}

}  // namespace kcs::bench::probe
