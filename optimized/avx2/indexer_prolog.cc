// K1 indexer_prolog, AVX2 + FMA + F16C pieces: the body is optimized/indexer_prolog-inl.h.
// Like the other ISA files, this one calls no inline helper of the kcs headers.
#include "optimized/avx2/simd.h"
#include "optimized/indexer_prolog-inl.h"
