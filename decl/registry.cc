#include <string>

#include "decl/kernels.h"

namespace kcs {

const std::vector<const KernelDecl*>& all_kernels() {
  static const std::vector<const KernelDecl*> k = {
#define KCS_KERNEL(id) &id##_decl(),
#include "kcs/kernels/list.inc"
#undef KCS_KERNEL
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
