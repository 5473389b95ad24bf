// K1 indexer_prolog, AVX-512 pieces: the body is optimized/indexer_prolog-inl.h.
// No inline helpers of shared headers here (see optimized/avx512/q8.cc).
#include "optimized/avx512/simd.h"
#include "optimized/indexer_prolog-inl.h"
