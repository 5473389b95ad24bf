// Entry points of the reference backend, one per kernel (the Invocation adapters).
#pragma once

#include "kcs/backend.h"
#include "kcs/kernels/gemm_bf16.h"
#include "kcs/kernels/hadamard.h"
#include "kcs/kernels/gemm_i8.h"
#include "kcs/kernels/nvfp4_quant.h"
#include "kcs/kernels/q8.h"
#include "kcs/kernels/scatter.h"

namespace kcs::ref {

Q8Params q8_params(const Problem& p);
Status q8(const Invocation& inv);
Status gemm_bf16(const Invocation& inv);
Status hadamard(const Invocation& inv);
GemmI8Args gemm_i8_args(const Invocation& inv);
Status gemm_i8(const Invocation& inv);
ScatterGeom scatter_geom(const Invocation& inv);
Status scatter(const Invocation& inv);
Status softmax_pool(const Invocation& inv);
Nvfp4Params nvfp4_params(const Problem& p);
Status nvfp4_quant(const Invocation& inv);
Status rmsnorm(const Invocation& inv);
Status layernorm(const Invocation& inv);
Status rope(const Invocation& inv);
Status nvfp4_stage(const Invocation& inv);
Status compressor(const Invocation& inv);
Status indexer_prolog(const Invocation& inv);

}  // namespace kcs::ref
