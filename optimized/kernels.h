// Entry points of the optimized backends: one adapter per kernel, parameterized by ISA.
#pragma once

#include "kcs/backend.h"
#include "kcs/cpu.h"

namespace kcs::opt {

#define KCS_KERNEL(id) Status id(const Invocation& inv, Isa isa);
#include "kcs/kernels/list.inc"
#undef KCS_KERNEL

}  // namespace kcs::opt
