// scatter: paged KV-cache scatter_update (docs/kernels/scatter.md). Used by K1 (k_cache int8, k_scale_cache
// fp16 [.., 1]) and K2 (kv / kr caches bf16 or int8, k_scale_cache fp32 [.., 4]).
//
// cache [block_num, block_size, N_kv = 1, D] is updated in place: for each token i in order with
// idx = index[i],
//   idx < 0                       skip (padding token, spec §1.6 / P6);
//   idx >= block_num * block_size the whole call is rejected before anything is written ([R]);
//   otherwise                     row idx (block idx / block_size, slot idx % block_size) = src[i].
// Duplicate indices: the last token wins (spec §1.6 [R], D17). Every other byte is unchanged.
//
// Layouts (attr cache_layout):
//   PA_BSND  flat row r = blk * block_size + slot holds elements [r * D, r * D + D).
//   PA_NZ    Ascend fractal layout [block_num, D / C0, block_size, C0], C0 = 32 bytes / sizeof(T):
//            element (blk, slot, d) sits at blk*block_size*D + (d / C0)*block_size*C0 + slot*C0 + d % C0.
//            The kcs tensor keeps the declared shape [block_num, block_size, 1, D] (same element
//            count); only the order of the bytes inside a block differs. D must be a multiple of C0.
// The copy is a byte copy: NaN payloads and the sign of zero travel unchanged.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "kcs/status.h"

namespace kcs {

struct Problem;

enum class CacheLayout { pa_bsnd, pa_nz };

struct ScatterGeom {
  int64_t block_num = 0;
  int64_t block_size = 0;
  int64_t D = 0;          // elements per row (N_kv = 1)
  size_t elem_size = 1;   // bytes per element
  CacheLayout layout = CacheLayout::pa_bsnd;

  int64_t capacity() const { return block_num * block_size; }
  size_t row_bytes() const { return static_cast<size_t>(D) * elem_size; }
  // PA_NZ: elements per 32-byte fractal row.
  int64_t c0() const { return static_cast<int64_t>(32 / elem_size); }
};

// Parses "PA_BSND" / "PA_NZ"; false for anything else.
bool parse_cache_layout(const std::string& s, CacheLayout* out);

// Shape preconditions (D multiple of C0 for PA_NZ, element size 1/2/4). Names the offending item.
Status scatter_check_geom(const ScatterGeom& g);
// Data precondition: every index < capacity. The message names the first bad token and index.
Status scatter_check_indices(const ScatterGeom& g, const int64_t* index, int64_t T, const std::string& cache_name);

// One byte per row of the declared shape [block_num, block_size, 1, D] (rows = block_num *
// block_size): 1 where the call writes at least one element of that row's bytes. For PA_BSND
// this is the set of valid indices; for PA_NZ a declared row holds D / C0 fractal rows that may
// belong to other slots, so it is marked when any of them is written (the exact contract on the
// touched rows then still checks the unwritten fractal rows inside it against `before`).
std::vector<uint8_t> scatter_touched_rows(const ScatterGeom& g, const int64_t* index, int64_t T);

// Element offset of (row = blk * block_size + slot, d) in the cache.
int64_t scatter_elem_offset(const ScatterGeom& g, int64_t row, int64_t d);

// The geometry of the stand-alone scatter kernel (dims, dtype and cache_layout attributes).
// Throws kcs::Error on an unknown dtype or layout.
ScatterGeom scatter_geom(const Problem& p);

}  // namespace kcs
