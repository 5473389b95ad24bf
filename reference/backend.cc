#include "kcs/backend.h"
#include "reference/kernels.h"

namespace kcs {

std::unique_ptr<Backend> make_reference_backend() {
  return std::make_unique<TableBackend>(
      "reference", "scalar binary64 reference with the declared casts (binary32 where the kernel definition says so)",
      std::map<std::string, KernelFn>{
#define KCS_KERNEL(id) {#id, &ref::id},
#include "kcs/kernels/list.inc"
#undef KCS_KERNEL
      },
      []() { return Availability{}; });
}

}  // namespace kcs
