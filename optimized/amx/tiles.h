// AMX tile configuration for the amx variants (optimized/amx/*.cc only: AMX instructions fault on a
// CPU without them, and in a Linux process that has not asked for tile data, see kcs/cpu.h).
// A kernel loads its configuration once per call on its thread and releases the tiles at the end
// (tilerelease returns the tile state to INIT, so context switches stop saving 8 KiB per thread).
#pragma once

#include <cstdint>

namespace kcs::opt {

struct TileShape {
  int rows = 0;   // <= 16
  int colsb = 0;  // bytes per row, <= 64
};

// Palette 1 with tiles 0 .. n-1 of these shapes (n <= 8), the others unused.
void amx_tiles_config(const TileShape* shapes, int n);
void amx_tiles_release();

}  // namespace kcs::opt
