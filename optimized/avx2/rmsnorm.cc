// RMSNorm (spec §1.4), AVX2 (FMA and F16C deliberately unused): the body is optimized/rmsnorm-inl.h.
// Like the other ISA files, this one calls no inline helper of the kcs headers.
#include "optimized/avx2/simd.h"
#include "optimized/rmsnorm-inl.h"
