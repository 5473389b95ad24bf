#include "decl/kernels.h"

namespace kcs {

const std::vector<const KernelDecl*>& all_kernels() {
  static const std::vector<const KernelDecl*> k = {
      &q8_decl(),
      &gemm_i8_decl(),
      &scatter_decl(),
      &softmax_pool_decl(),
      &nvfp4_quant_decl(),
      &gemm_bf16_decl(),
      &hadamard_decl(),
      &rmsnorm_decl(),
      &layernorm_decl(),
      &rope_decl(),
      &indexer_prolog_decl(),
      &nvfp4_stage_decl(),
      &compressor_decl(),
  };
  return k;
}

}  // namespace kcs
