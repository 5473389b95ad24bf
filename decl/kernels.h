// One accessor per declared kernel; decl/registry.cc lists them.
#pragma once

#include "kcs/decl.h"

namespace kcs {

const KernelDecl& q8_decl();
const KernelDecl& gemm_bf16_decl();
const KernelDecl& hadamard_decl();
const KernelDecl& gemm_i8_decl();
const KernelDecl& scatter_decl();
const KernelDecl& softmax_pool_decl();
const KernelDecl& nvfp4_quant_decl();
const KernelDecl& rmsnorm_decl();
const KernelDecl& layernorm_decl();
const KernelDecl& rope_decl();
const KernelDecl& nvfp4_stage_decl();
const KernelDecl& compressor_decl();
const KernelDecl& indexer_prolog_decl();

}  // namespace kcs
