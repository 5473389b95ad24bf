// Gated softmax pooling (spec §7.4), AVX-512 F/BW: the body is optimized/softmax_pool-inl.h, the
// exp optimized/avx512/exp.h (the algorithm: optimized/softmax_pool.h).
#include "optimized/avx512/simd.h"
#include "optimized/avx512/exp.h"
#include "optimized/softmax_pool-inl.h"
