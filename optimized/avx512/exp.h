// The end of the binary32 exp of the softmax pool and of the K5 compressor on AVX-512: exp_scale
// here, the rest is optimized/exp-inl.h (exp_v, one source for both ISAs). The algorithm, its
// bound and its AVX-512 == AVX2 bit identity are in optimized/softmax_pool.h. Internal linkage
// (optimized/simd_scalar.h); include after optimized/avx512/simd.h.
#pragma once

#include "optimized/softmax_pool_consts.h"

namespace kcs::opt {
namespace {

// e^x = 2^floor(k / 16) · (T[k mod 16] + T·p) for exp_v (optimized/exp-inl.h), given k16 = k / 16:
// T by vpermps (it reads the low 4 bits of t, which are k's), the sum with one rounding, the
// scaling by vscalefps (it floors its second operand), one rounding.
inline VF exp_scale(VF t, VF k16, VF p) {
  const VF tk = _mm512_permutexvar_ps(_mm512_castps_si512(t), _mm512_load_ps(kExpTab));
  return _mm512_scalef_ps(fmadd_f(tk, p, tk), k16);
}

}  // namespace
}  // namespace kcs::opt

#include "optimized/exp-inl.h"
