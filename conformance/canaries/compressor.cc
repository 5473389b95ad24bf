// K5 compressor canaries: BF16 outputs under ulp_or_budget (a 2-ULP error beyond the budget, a
// NaN), and a RoPE at the wrong position (block end instead of block start in the model epilogue).
#include <cstring>

#include "conformance/canaries/faults.h"

namespace kcs {

std::vector<Canary> compressor_canaries() {
  using namespace canary;
  const std::string model = "compressor.s_csa.*epilogue=model";
  std::vector<Canary> v;
  v.push_back(units_off("kv_out", 2, model, "one BF16 kv_out element 2 ULP off, beyond its budget"));
  v.push_back(units_off("indexer_out", 2, model, "one BF16 indexer_out element 2 ULP off, beyond its budget"));
  v.push_back(nan_in("kv_out", "compressor.s_csa.*epilogue=fused"));
  v.push_back({"rope_block_end_in_model", "the model epilogue rotated at the block-end position (the fused rule)",
               model, "", {"kv_out", "indexer_out"}, [](const FaultCall& fc) {
                 // start_abs_pos + M - 1 moves every block's position by M - 1, as the fused epilogue's
                 // block-end rule does; the model epilogue needs aligned starts, so shift the table instead.
                 return fc.run_reference_with([](Problem& p, TensorMap& t) {
                   Tensor& tab = t.at("cos_sin_cache");
                   const int64_t rows = tab.rows(), m = p.dim("M");
                   const size_t row_bytes = tab.nbytes() / static_cast<size_t>(rows);
                   uint8_t* b = static_cast<uint8_t*>(tab.raw());
                   for (int64_t r = 0; r + m - 1 < rows; ++r)
                     std::memmove(b + r * row_bytes, b + (r + m - 1) * row_bytes, row_bytes);
                 });
               }});
  return v;
}

}  // namespace kcs
