// K5 compressor, AVX2 + FMA: the body is optimized/compressor-inl.h (formulas in
// optimized/compressor.h; the same IEEE operations as the AVX-512 build, so identical bits).
// Calls no inline helper of the kcs headers.
#include <cstdint>

#include "optimized/avx2/simd.h"
#include "optimized/avx2/exp.h"

namespace kcs::opt {
namespace {

inline VF swap_pairs(VF v) { return _mm256_permute_ps(v, 0xB1); }  // the intrinsic's name is per ISA

// 16 ymm cannot hold a window of logits beside the exp's constants: every window takes the
// position-major path, whose logits wait in memory.
constexpr bool kKeepLogits = false;

}  // namespace
}  // namespace kcs::opt

#include "optimized/compressor-inl.h"
