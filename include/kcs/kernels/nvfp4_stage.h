// K4: the NVFP4 MoE input staging kernel (docs/kernels/nvfp4_stage.md): per token m,
//   x_fp4[m], x_sf[m]    = the NVFP4 quantizer (kcs/kernels/nvfp4_quant.h, spec §6.3 steps 1-7) of
//                          hidden_states[m] (BF16, FP16 or FP32, widened exactly to binary32);
//   topk_idx_out[m, :]   = int64(topk_ids[m, :])       (INT32 sign-extended, or INT64 copied);
//   topk_weights_out[m, :] = topk_weights[m, :]         (FP32 value copy, bit for bit).
// The staging kernel does the top-k copy in the program of block kb = 0 (step 8); that only
// decides who writes it, not what is written. The quantizer's modes (E2m1Ties, saturate_scale)
// are the kernel's modes; kcs has no other K4 arithmetic, so the fused reference is the
// primitive's reference plus the copies, and stage-isolated testing has one stage ("quantize").
#pragma once

#include "kcs/kernels/nvfp4_quant.h"  // the kernel's modes are the quantizer's (Nvfp4Params)
