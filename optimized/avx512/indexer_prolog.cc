// K1 indexer_prolog, AVX-512 pieces: the body is optimized/indexer_prolog-inl.h.
// Like the other ISA files, this one calls no inline helper of the kcs headers.
#include "optimized/avx512/simd.h"
#include "optimized/indexer_prolog-inl.h"
