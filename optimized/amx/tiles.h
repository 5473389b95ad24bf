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

// Tile loads and stores that tell the compiler about their memory. GCC 12's _tile_loadd /
// _tile_stored are asm statements without memory operands or clobber, so the compiler may move
// plain stores of a tile's source past the load, or reuse loads made before a tile store (and
// _tile_loadconfig declares only 8 of its 64 bytes read, so the shapes were optimized away).
#define KCS_TILE_LOADD(tile, base, stride)                                               \
  __asm__ volatile("tileloadd (%0,%1,1), %%tmm" #tile ::"r"(static_cast<const void*>(base)), \
                   "r"(static_cast<long>(stride))                                          \
                   : "memory")
#define KCS_TILE_STORED(tile, base, stride)                                               \
  __asm__ volatile("tilestored %%tmm" #tile ", (%0,%1,1)" ::"r"(static_cast<void*>(base)), \
                   "r"(static_cast<long>(stride))                                          \
                   : "memory")

}  // namespace kcs::opt
