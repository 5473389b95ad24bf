// scatter_update ISA kernels (optimized/avx512/scatter.cc, optimized/avx2/scatter.cc) and the
// whole-call driver that fused kernels reuse. Contract: byte-identical to scatter_reference.
#pragma once

#include <cstdint>
#include <vector>

#include "kcs/cpu.h"
#include "kcs/kernels/scatter.h"

namespace kcs::opt {

struct ScatterCall {
  ScatterGeom g;
  uint8_t* cache = nullptr;        // the paged cache, updated in place
  const uint8_t* src = nullptr;    // [T, D] rows
  const int64_t* index = nullptr;  // [T]; checked by the caller (all < capacity)
  int64_t T = 0;
  // nullptr: tokens [begin, end) are copied in order (the caller keeps tiles in token order, so
  // the last writer of a row wins). Otherwise only tokens with winner[i] != 0 are copied: then
  // no two copied tokens share a row and tiles may run concurrently.
  const uint8_t* winner = nullptr;
};

// Copies the valid (index >= 0) tokens of [begin, end).
void scatter_tokens_avx512(const ScatterCall& c, int64_t begin, int64_t end);
void scatter_tokens_avx2(const ScatterCall& c, int64_t begin, int64_t end);

// winner[i] = 1 iff token i has a valid index and no later token has the same index.
std::vector<uint8_t> scatter_last_writers(const int64_t* index, int64_t T);

// The whole call: token tiles of `token_tile` tokens (<= 0: one tile). One thread walks the
// tiles in order; several threads copy only the last writer of each row, so the result is the
// same bytes for any thread count and tile size.
void scatter_run(const ScatterCall& c, Isa isa, int threads, int64_t token_tile);

// ISA variants, best first (optimized/variants.h).
struct ScatterVariant {
  Isa isa;
  decltype(&scatter_tokens_avx2) tokens;
};
inline constexpr ScatterVariant kScatterVariants[] = {
    {Isa::avx512, &scatter_tokens_avx512},
    {Isa::avx2, &scatter_tokens_avx2},
};

}  // namespace kcs::opt
