// K1 indexer_prolog, AVX2 + FMA + F16C pieces: the body is optimized/indexer_prolog-inl.h.
// No inline helpers of shared headers here (see optimized/avx512/q8.cc).
#include "optimized/avx2/simd.h"
#include "optimized/indexer_prolog-inl.h"
