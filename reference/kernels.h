// Entry points of the reference backend, one per kernel (the Invocation adapters).
#pragma once

#include "kcs/backend.h"
#include "reference/primitives.h"

namespace kcs::ref {

Status q8(const Invocation& inv);
Status gemm_bf16(const Invocation& inv);
Status hadamard(const Invocation& inv);
Status gemm_i8(const Invocation& inv);
Status scatter(const Invocation& inv);
Status softmax_pool(const Invocation& inv);
Status nvfp4_quant(const Invocation& inv);
Status rmsnorm(const Invocation& inv);
Status layernorm(const Invocation& inv);
Status rope(const Invocation& inv);
Status nvfp4_stage(const Invocation& inv);
Status compressor(const Invocation& inv);
Status indexer_prolog(const Invocation& inv);
Status mla_prolog(const Invocation& inv);
Status v4_indexer(const Invocation& inv);

}  // namespace kcs::ref
