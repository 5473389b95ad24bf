// Gated softmax pooling (spec §7.4), AVX2 + FMA: the body is optimized/softmax_pool-inl.h, the exp
// optimized/avx2/exp.h (the algorithm: optimized/softmax_pool.h).
#include "optimized/avx2/simd.h"
#include "optimized/avx2/exp.h"
#include "optimized/softmax_pool-inl.h"
