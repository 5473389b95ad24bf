// Entry points of the optimized backends: one adapter per kernel, parameterized by ISA.
#pragma once

#include "kcs/backend.h"
#include "kcs/cpu.h"

namespace kcs::opt {

Status q8(const Invocation& inv, Isa isa);

}  // namespace kcs::opt
