// NVFP4 quantizer adapter: work items are (row tile, K chunk) pairs (knobs row_tile, block_k)
// spread over OpenMP threads. Every 128-element block is quantized on its own, so neither knob
// nor the thread count can change a bit.
#include <algorithm>
#include <string>

#include "optimized/kernels.h"
#include "optimized/nvfp4_quant.h"
#include "optimized/variants.h"

namespace kcs::opt {

Status nvfp4_quant(const Invocation& inv, Isa isa) {
  const Tensor& x = inv.in("x");
  const int64_t rows = x.rows(), k = x.row_len();
  int64_t tile = inv.knob("row_tile");
  int64_t chunk = inv.knob("block_k");
  if (tile < 0) return Status::Fail("nvfp4_quant: knob row_tile = " + std::to_string(tile) + " is negative");
  if (chunk < 0 || chunk % kNvfp4Block != 0)
    return Status::Fail("nvfp4_quant: knob block_k = " + std::to_string(chunk) +
                        " is not 0 or a positive multiple of 128");
  Nvfp4Rows a;
  a.x = x.raw();
  a.x_dtype = x.dtype();
  a.x_stride = k;
  a.k = k;
  a.params = nvfp4_params(*inv.problem);
  a.x_fp4 = inv.out("x_fp4").data<uint8_t>();
  a.x_sf = inv.out("x_sf").data<int32_t>();
  const int64_t blocks = k / kNvfp4Block;
  if (rows == 0 || blocks == 0) return Status::Ok();
  if (tile == 0) tile = rows;
  const int64_t chunk_blocks = chunk == 0 ? blocks : std::min(blocks, chunk / kNvfp4Block);
  const int64_t row_tiles = (rows + tile - 1) / tile;
  const int64_t k_chunks = (blocks + chunk_blocks - 1) / chunk_blocks;
  auto fn = variant(kNvfp4QuantVariants, isa).quant;
#pragma omp parallel for num_threads(inv.threads) schedule(static)
  for (int64_t item = 0; item < row_tiles * k_chunks; ++item) {
    const int64_t t = item / k_chunks, c = item % k_chunks;
    fn(a, t * tile, std::min(rows, (t + 1) * tile), c * chunk_blocks, std::min(blocks, (c + 1) * chunk_blocks));
  }
  return Status::Ok();
}

}  // namespace kcs::opt
