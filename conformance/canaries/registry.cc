// Every kernel's canaries (conformance/canaries/<id>.cc), one per line of kcs/kernels/list.inc.
// `kcs selftest` fails for a kernel whose checks have no canary.
#include "conformance/canaries/canary.h"

namespace kcs {

#define KCS_KERNEL(id) std::vector<Canary> id##_canaries();
#include "kcs/kernels/list.inc"
#undef KCS_KERNEL

const std::vector<KernelCanaries>& canary_registry() {
  static const std::vector<KernelCanaries> table = {
#define KCS_KERNEL(id) {#id, &id##_canaries},
#include "kcs/kernels/list.inc"
#undef KCS_KERNEL
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
