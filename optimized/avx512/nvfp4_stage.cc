// K4 staging, step 8 (top-k copy), compiled with AVX-512 flags: optimized/nvfp4_stage-inl.h. The
// quantizer part of K4 is optimized/avx512/nvfp4_quant.cc.
#include "optimized/avx512/simd.h"
#include "optimized/nvfp4_stage-inl.h"
