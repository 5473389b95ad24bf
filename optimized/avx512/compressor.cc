// K5 compressor, AVX-512 F/BW: the body is optimized/compressor-inl.h (formulas in
// optimized/compressor.h). Calls no inline helper of the kcs headers.
#include "optimized/avx512/simd.h"
#include "optimized/avx512/exp.h"
#include "optimized/compressor-inl.h"
