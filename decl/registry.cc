#include "decl/kernels.h"

namespace kcs {

const std::vector<const KernelDecl*>& all_kernels() {
  static const std::vector<const KernelDecl*> k = {&q8_decl()};
  return k;
}

}  // namespace kcs
