#include <string>

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
      &mla_prolog_decl(),
      &v4_indexer_decl(),
      &nvfp4_stage_decl(),
      &compressor_decl(),
  };
  return k;
}

const KernelDecl* find_kernel(const std::string& id) {
  for (const KernelDecl* k : all_kernels())
    if (k->id == id) return k;
  return nullptr;
}

const KernelDecl& kernel_or_throw(const std::string& id) {
  if (const KernelDecl* k = find_kernel(id)) return *k;
  std::string known;
  for (const KernelDecl* k : all_kernels()) known += (known.empty() ? "" : ", ") + k->id;
  throw Error("unknown kernel '" + id + "' (known: " + known + ")");
}

}  // namespace kcs
