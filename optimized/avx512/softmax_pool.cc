// Gated softmax pooling (spec §7.4), AVX-512 F/BW: the exp is optimized/avx512/exp.h;
// the pooling body is optimized/softmax_pool-inl.h. The algorithm and the exp are described in
// optimized/softmax_pool.h; the AVX2 file runs the same IEEE operations.
//
// Compiled with AVX-512 flags: no inline helper of the kcs headers is called here, all local
// helpers are static / in an anonymous namespace (see optimized/avx512/q8.cc).
#include <cstdint>

#include "optimized/avx512/simd.h"
#include "optimized/avx512/exp.h"
#include "optimized/softmax_pool.h"

namespace kcs::opt {

namespace {

// Windows of <= 8 positions keep their logits in registers between the passes (32 zmm).
constexpr bool kPoolKeepLogits = true;

}  // namespace

}  // namespace kcs::opt

#include "optimized/softmax_pool-inl.h"
