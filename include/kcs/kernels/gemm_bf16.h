// gemm_bf16: BF16 x BF16 GEMM with fp32 accumulation (spec §0.3 "fp32-acc GEMM", §10.3, §13
// "BF16 GEMMs"), optionally cast to BF16 or FP16 (nearest even, subnormals kept, overflow to Inf).
// The engine of K1's kf = x·wk (fp32 kept) and wb = x·w_proj (bf16), K2's x·w_dq, x·w_dkv_kr and the
// per-head q_nope·w_uk (batched), and of the dense Hadamard product (kcs/kernels/hadamard.h).
//
//   y[b, i, n] = cast(Σ_k a[b, i, k] · w[b, k, n])
//
// The reference forms every product and sum in binary64 and rounds once to the output format
// (binary32, BF16 or FP16). A BF16 x BF16 product is exact in binary64 (8 + 8 significant bits, and
// the exponent range of binary64 holds every product of two BF16 values), so the only error of
// the reference is binary64 summation: <= K·2^-53·A, far below any fp32 implementation's.
// Implementations sum in binary32 in an order of their choosing; the contract (spec §10.4 tier A,
// Contract::UlpOrBudget(1, 2, "K")) accepts d_ulp <= 1 or |y − ŷ| <= ½ulp(ŷ) + 2K·2^-24·A,
// with ŷ the reference's unrounded value and A = Σ_k |a_k·w_k| its abs-dot.
//
// Layouts are row-major with leading dimensions (spec §1.7: weights as ND [K, N]).
#pragma once

#include <cstdint>

#include "kcs/dtype.h"

namespace kcs {

}  // namespace kcs
