#include "optimized/amx/tiles.h"

#include <immintrin.h>

#include <cstring>

namespace kcs::opt {

namespace {

// The 64-byte operand of ldtilecfg (palette 1).
struct alignas(64) TileCfg {
  uint8_t palette = 1, start_row = 0;
  uint8_t reserved[14] = {};
  uint16_t colsb[16] = {};
  uint8_t rows[16] = {};
};
static_assert(sizeof(TileCfg) == 64);

}  // namespace

void amx_tiles_config(const TileShape* shapes, int n) {
  TileCfg cfg;
  for (int i = 0; i < n && i < 8; ++i) {
    cfg.rows[i] = static_cast<uint8_t>(shapes[i].rows);
    cfg.colsb[i] = static_cast<uint16_t>(shapes[i].colsb);
  }
  // The whole 64 bytes as the operand (_tile_loadconfig names only the first 8: see tiles.h).
  __asm__ volatile("ldtilecfg %0" ::"m"(cfg));
}

void amx_tiles_release() { _tile_release(); }

}  // namespace kcs::opt
