// One accessor per declared kernel; decl/registry.cc lists them.
#pragma once

#include "kcs/decl.h"

namespace kcs {

const KernelDecl& q8_decl();

}  // namespace kcs
