// Q8 quantizer (spec §1.1), AVX2 + F16C: the body is optimized/q8-inl.h (the algorithm:
// optimized/q8_row-inl.h), the rounding optimized/avx2/simd.h's round_to_i32.
// Like the other ISA files, this one calls no inline helper of the kcs headers.
#include "optimized/avx2/simd.h"
#include "optimized/q8-inl.h"
