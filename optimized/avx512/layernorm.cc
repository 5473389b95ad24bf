// LayerNorm, K1 form (spec §1.4), AVX-512 F/BW/VL: the body is optimized/layernorm-inl.h.
// Like the other ISA files, this one calls no inline helper of the kcs headers.
#include "optimized/avx512/simd.h"
#include "optimized/layernorm-inl.h"
