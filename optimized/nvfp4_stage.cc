// K4 staging adapter: work items are (token tile, K chunk) pairs (knobs row_tile, block_k) spread
// over OpenMP threads. Each item runs the NVFP4 quantizer's SIMD coder on its blocks; the items
// of chunk 0 also copy their tokens' top-k ids and weights (the staging kernel's kb == 0
// program, spec §6.3 step 8). Every 128-element block is coded on its own and the copies are
// per element, so neither knob nor the thread count can change a bit.
#include <algorithm>
#include <string>

#include "optimized/kernels.h"
#include "optimized/nvfp4_quant.h"
#include "optimized/nvfp4_stage.h"
#include "optimized/variants.h"

namespace kcs::opt {

Status nvfp4_stage(const Invocation& inv, Isa isa) {
  const Tensor& x = inv.in("hidden_states");
  const Tensor& ids = inv.in("topk_ids");
  const int64_t rows = x.rows(), k = x.row_len();
  int64_t tile = inv.knob("row_tile");
  const int64_t chunk = inv.knob("block_k");
  if (tile < 0) return Status::Fail("nvfp4_stage: knob row_tile = " + std::to_string(tile) + " is negative");
  if (chunk < 0 || chunk % kNvfp4Block != 0)
    return Status::Fail("nvfp4_stage: knob block_k = " + std::to_string(chunk) +
                        " is not 0 or a positive multiple of 128");
  Nvfp4Rows a;
  a.x = x.raw();
  a.x_dtype = x.dtype();
  a.x_stride = k;
  a.k = k;
  a.params = nvfp4_params(*inv.problem);
  a.x_fp4 = inv.out("x_fp4").data<uint8_t>();
  a.x_sf = inv.out("x_sf").data<int32_t>();
  Nvfp4Topk t;
  t.ids = ids.raw();
  t.ids_dtype = ids.dtype();
  t.weights = inv.in("topk_weights").data<float>();
  t.top_k = ids.row_len();
  t.idx_out = inv.out("topk_idx_out").data<int64_t>();
  t.weights_out = inv.out("topk_weights_out").data<float>();
  const int64_t blocks = k / kNvfp4Block;
  if (rows == 0 || blocks == 0) return Status::Ok();  // spec §6.2: M = 0 writes nothing
  if (tile == 0) tile = rows;
  const int64_t chunk_blocks = chunk == 0 ? blocks : std::min(blocks, chunk / kNvfp4Block);
  const int64_t row_tiles = (rows + tile - 1) / tile;
  const int64_t k_chunks = (blocks + chunk_blocks - 1) / chunk_blocks;
  auto quant = variant(kNvfp4QuantVariants, isa).quant;
  auto topk = variant(kNvfp4StageVariants, isa).topk;
#pragma omp parallel for num_threads(inv.threads) schedule(static)
  for (int64_t item = 0; item < row_tiles * k_chunks; ++item) {
    const int64_t r = item / k_chunks, c = item % k_chunks;
    const int64_t r0 = r * tile, r1 = std::min(rows, (r + 1) * tile);
    quant(a, r0, r1, c * chunk_blocks, std::min(blocks, (c + 1) * chunk_blocks));
    if (c == 0) topk(t, r0, r1);
  }
  return Status::Ok();
}

}  // namespace kcs::opt
