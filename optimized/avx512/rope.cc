// RoPE (spec §1.3), AVX-512 F/BW/VL: the body is optimized/rope-inl.h.
// Like the other ISA files, this one calls no inline helper of the kcs headers.
#include "optimized/avx512/simd.h"
#include "optimized/rope-inl.h"
