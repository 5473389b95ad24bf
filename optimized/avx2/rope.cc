// RoPE (spec §1.3), AVX2 (FMA and F16C deliberately unused): the body is optimized/rope-inl.h.
// Like the other ISA files, this one calls no inline helper of the kcs headers.
#include "optimized/avx2/simd.h"
#include "optimized/rope-inl.h"
