// Entry points of the reference backend, one per kernel (the Invocation adapters).
#pragma once

#include "kcs/backend.h"
#include "reference/primitives.h"

namespace kcs::ref {

#define KCS_KERNEL(id) Status id(const Invocation& inv);
#include "kcs/kernels/list.inc"
#undef KCS_KERNEL

}  // namespace kcs::ref
