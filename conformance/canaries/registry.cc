// One line per kernel with canaries (conformance/canaries/<id>.cc). `kcs selftest` fails for a
// kernel whose checks have no canary, so a new kernel adds its line here.
#include "conformance/canaries/canary.h"

namespace kcs {

std::vector<Canary> q8_canaries();
std::vector<Canary> gemm_i8_canaries();
std::vector<Canary> gemm_bf16_canaries();
std::vector<Canary> hadamard_canaries();
std::vector<Canary> rmsnorm_canaries();
std::vector<Canary> layernorm_canaries();
std::vector<Canary> rope_canaries();
std::vector<Canary> scatter_canaries();
std::vector<Canary> nvfp4_quant_canaries();
std::vector<Canary> softmax_pool_canaries();
std::vector<Canary> nvfp4_stage_canaries();
std::vector<Canary> compressor_canaries();
std::vector<Canary> v4_indexer_canaries();
std::vector<Canary> indexer_prolog_canaries();
std::vector<Canary> mla_prolog_canaries();

const std::vector<KernelCanaries>& canary_registry() {
  static const std::vector<KernelCanaries> table = {
      {"q8", &q8_canaries},
      {"gemm_i8", &gemm_i8_canaries},
      {"gemm_bf16", &gemm_bf16_canaries},
      {"hadamard", &hadamard_canaries},
      {"rmsnorm", &rmsnorm_canaries},
      {"layernorm", &layernorm_canaries},
      {"rope", &rope_canaries},
      {"scatter", &scatter_canaries},
      {"nvfp4_quant", &nvfp4_quant_canaries},
      {"softmax_pool", &softmax_pool_canaries},
      {"nvfp4_stage", &nvfp4_stage_canaries},
      {"compressor", &compressor_canaries},
      {"v4_indexer", &v4_indexer_canaries},
      {"indexer_prolog", &indexer_prolog_canaries},
      {"mla_prolog", &mla_prolog_canaries},
  };
  return table;
}

// Fused kernels whose engineers add their canaries after the kernel lands. Remove the line with
// the registry line above; selftest fails while a kernel is in both lists.
const std::vector<std::string>& canaries_pending() {
  static const std::vector<std::string> pending = {
  };
  return pending;
}

}  // namespace kcs
