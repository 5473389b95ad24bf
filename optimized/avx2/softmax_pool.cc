// Gated softmax pooling (spec §7.4), AVX2 + FMA: the exp is optimized/avx2/exp.h (two 8-entry permutes, the scaling as
// two exact-then-rounding multiplies); the pooling body is optimized/softmax_pool-inl.h. Same IEEE
// operations as the AVX-512 file (optimized/softmax_pool.h), so both give identical bits.
//
// Compiled with AVX2 flags: no inline helper of the kcs headers is called here; local helpers
// are static / in an anonymous namespace.

#include <cstdint>

#include "optimized/avx2/simd.h"
#include "optimized/avx2/exp.h"
#include "optimized/softmax_pool.h"

namespace kcs::opt {

namespace {

// 16 ymm registers cannot hold a window: the logits are computed again in pass 2.
constexpr bool kPoolKeepLogits = false;

}  // namespace

}  // namespace kcs::opt

#include "optimized/softmax_pool-inl.h"
