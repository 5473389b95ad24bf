// One accessor per declared kernel (kcs/kernels/list.inc); decl/registry.cc lists them.
#pragma once

#include "kcs/decl.h"

namespace kcs {

#define KCS_KERNEL(id) const KernelDecl& id##_decl();
#include "kcs/kernels/list.inc"
#undef KCS_KERNEL

}  // namespace kcs
