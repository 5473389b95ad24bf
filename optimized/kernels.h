// Entry points of the optimized backends: one adapter per kernel, parameterized by ISA.
#pragma once

#include <memory>

#include "kcs/backend.h"
#include "kcs/cpu.h"

namespace kcs::opt {

#define KCS_KERNEL(id) Status id(const Invocation& inv, Isa isa);
#include "kcs/kernels/list.inc"
#undef KCS_KERNEL

// Plans that pack their weights once (kcs/backend.h), for the Plan table of the ISA backends.
std::unique_ptr<Plan> mla_prolog_prepare(Backend& backend, const Invocation& weights, Isa isa);
std::unique_ptr<Plan> indexer_prolog_prepare(Backend& backend, const Invocation& weights, Isa isa);

}  // namespace kcs::opt
