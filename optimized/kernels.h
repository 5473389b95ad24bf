// Entry points of the optimized backends: one adapter per kernel, parameterized by ISA.
#pragma once

#include "kcs/backend.h"
#include "kcs/cpu.h"

namespace kcs::opt {

Status q8(const Invocation& inv, Isa isa);
Status gemm_bf16(const Invocation& inv, Isa isa);
Status hadamard(const Invocation& inv, Isa isa);
Status nvfp4_quant(const Invocation& inv, Isa isa);
Status gemm_i8(const Invocation& inv, Isa isa);
Status scatter(const Invocation& inv, Isa isa);
Status softmax_pool(const Invocation& inv, Isa isa);
Status rmsnorm(const Invocation& inv, Isa isa);
Status layernorm(const Invocation& inv, Isa isa);
Status rope(const Invocation& inv, Isa isa);
Status nvfp4_stage(const Invocation& inv, Isa isa);
Status compressor(const Invocation& inv, Isa isa);
Status indexer_prolog(const Invocation& inv, Isa isa);

}  // namespace kcs::opt
