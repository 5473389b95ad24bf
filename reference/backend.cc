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
#define KCS_KERNEL(id) {#id, &ref::id},
#include "kcs/kernels/list.inc"
#undef KCS_KERNEL
      },
      []() { return Availability{}; });
}

}  // namespace kcs
