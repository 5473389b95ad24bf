// K5 compressor, AVX-512 F/BW: the body is optimized/compressor-inl.h (formulas in
// optimized/compressor.h). Calls no inline helper of the kcs headers.
#include <cstdint>

#include "optimized/avx512/simd.h"
#include "optimized/avx512/exp.h"

namespace kcs::opt {
namespace {

inline VF swap_pairs(VF v) { return _mm512_permute_ps(v, 0xB1); }  // the intrinsic's name is per ISA

// 32 zmm hold a window of 8 logits beside the exp's constants.
constexpr bool kKeepLogits = true;

}  // namespace
}  // namespace kcs::opt

#include "optimized/compressor-inl.h"
