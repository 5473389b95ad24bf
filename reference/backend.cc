#include "kcs/backend.h"
#include "reference/kernels.h"

namespace kcs {

namespace {

// The reference ignores tile knobs by construction: its kernels only ever see the default tile,
// so one run of a case stands for every tile configuration (Backend::ignores_tiles).
class ReferenceBackend : public TableBackend {
 public:
  using TableBackend::TableBackend;
  bool ignores_tiles() const override { return true; }

 protected:
  Status execute(const Invocation& inv) override {
    Invocation untiled = inv;
    untiled.tile = TileConfig{};
    return TableBackend::execute(untiled);
  }
};

}  // namespace

std::unique_ptr<Backend> make_reference_backend() {
  return std::make_unique<ReferenceBackend>(
      "reference", "scalar binary64 reference with the declared casts (binary32 where the kernel definition says so)",
      std::map<std::string, KernelFn>{
          {"q8", &ref::q8},
          {"gemm_i8", &ref::gemm_i8},
          {"scatter", &ref::scatter},
          {"softmax_pool", &ref::softmax_pool},
          {"nvfp4_quant", &ref::nvfp4_quant},
          {"gemm_bf16", &ref::gemm_bf16},
          {"hadamard", &ref::hadamard},
          {"rmsnorm", &ref::rmsnorm},
          {"layernorm", &ref::layernorm},
          {"rope", &ref::rope},
          {"indexer_prolog", &ref::indexer_prolog},
          {"mla_prolog", &ref::mla_prolog},
          {"v4_indexer", &ref::v4_indexer},
          {"nvfp4_stage", &ref::nvfp4_stage},
          {"compressor", &ref::compressor},
      },
      []() { return Availability{}; });
}

}  // namespace kcs
