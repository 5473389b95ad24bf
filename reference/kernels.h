// Entry points of the reference backend, one per kernel (the Invocation adapters).
#pragma once

#include "kcs/backend.h"
#include "kcs/kernels/q8.h"

namespace kcs::ref {

Q8Params q8_params(const Problem& p);
Status q8(const Invocation& inv);

}  // namespace kcs::ref
