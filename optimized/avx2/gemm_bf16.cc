// BF16 GEMM, AVX2 + FMA + F16C: the micro-kernel table; the FMA micro-kernel, its epilogue, the
// row store and the min-magnitude scan are optimized/gemm_bf16-inl.h (the same chains as
// the AVX-512 engines, so the same bits). 4 rows x 1 strip (16 columns, two ymm) of accumulators:
// 8 + 4 widened W + 2 broadcast A = 14 of the 16 ymm registers.
// Like every ISA file, this one calls no inline helper of the kcs headers (optimized/simd_scalar.h).
#include <cstdint>

#include "optimized/avx2/simd.h"
#include "optimized/gemm_bf16-inl.h"

namespace kcs::opt {

namespace {

using MicroFn = void (*)(const Bf16Micro&);
constexpr MicroFn kFma[kBf16FmaMaxMr256] = {&micro_fma<1, 1>, &micro_fma<2, 1>, &micro_fma<3, 1>, &micro_fma<4, 1>};

}  // namespace

void gemm_bf16_micro_avx2(int mr, int ns, const Bf16Micro& m) {
  (void)ns;  // one strip per call
  kFma[mr - 1](m);
}

}  // namespace kcs::opt
