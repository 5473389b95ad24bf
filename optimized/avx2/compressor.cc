// K5 compressor, AVX2 + FMA: the body is optimized/compressor-inl.h (formulas in
// optimized/compressor.h; the same IEEE operations as the AVX-512 build, so identical bits).
// Calls no inline helper of the kcs headers.
#include "optimized/avx2/simd.h"
#include "optimized/avx2/exp.h"
#include "optimized/compressor-inl.h"
