// Gated softmax pooling (spec §7.4), AVX-512 F/BW: the end of the exp (vpermps table lookup,
// vscalefps); the exp's start and the pooling body are optimized/softmax_pool-inl.h. The algorithm
// and the exp are described in optimized/softmax_pool.h; the AVX2 file runs the same IEEE
// operations.
//
// Compiled with AVX-512 flags: no inline helper of the kcs headers is called here, all local
// helpers are static / in an anonymous namespace (see optimized/avx512/q8.cc).
#include <cstdint>

#include "optimized/avx512/simd.h"
#include "optimized/softmax_pool.h"
#include "optimized/softmax_pool_consts.h"

namespace kcs::opt {

namespace {

// e^x = 2^floor(k / 16) · (T[k mod 16] + T·p) for exp_v (optimized/softmax_pool-inl.h): T by
// vpermps (it reads the low 4 bits of t, which are k's), the sum with one rounding, the scaling
// by vscalefps (it floors its second operand; k / 16 is exact), one rounding.
inline VF exp_scale(VF t, VF k, VF p) {
  const VF tk = _mm512_permutexvar_ps(_mm512_castps_si512(t), _mm512_load_ps(kExpTab));
  return _mm512_scalef_ps(fmadd_f(tk, p, tk), mul_f(k, set1_f(0.0625f)));
}

// Windows of <= 8 positions keep their logits in registers between the passes (32 zmm).
constexpr bool kPoolKeepLogits = true;

}  // namespace

}  // namespace kcs::opt

#include "optimized/softmax_pool-inl.h"
