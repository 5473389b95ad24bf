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

// One GEMM (or a batch of them) on caller-owned memory, for the reference functions below.
struct GemmBf16RefArgs {
  int64_t m = 0, k = 0, n = 0;
  const uint16_t* a = nullptr;  // [m, k] bf16 bit patterns
  int64_t lda = 0;
  const uint16_t* w = nullptr;  // [k, n] bf16 bit patterns
  int64_t ldw = 0;
};

// Unrounded binary64 values ŷ[i, n] = Σ_k a[i, k]·w[k, n] (k ascending) for rows [m0, m1) and
// all n columns, into y (leading dimension ldy, row i at y + (i - m0)·ldy). When abs_dot is not
// null, also A[i, n] = Σ_k |a[i, k]·w[k, n]| with the same layout and leading dimension lda_abs.
void gemm_bf16_reference(const GemmBf16RefArgs& g, int64_t m0, int64_t m1, double* y, int64_t ldy,
                         double* abs_dot = nullptr, int64_t ld_abs = 0);

// One dot product Σ_k a[k]·w[k·w_stride] and its abs-dot, in binary64 (k ascending).
struct Bf16Dot {
  double value = 0;
  double abs_dot = 0;
};
Bf16Dot gemm_bf16_dot_reference(const uint16_t* a, const uint16_t* w, int64_t w_stride, int64_t k);

// The single rounding of the reference: ŷ to binary32, or to BF16 / FP16 bit patterns (nearest
// even). `out` points at a float for fp32 and at a uint16_t otherwise. Throws for other dtypes.
void gemm_bf16_store_rounded(double y, DType dtype, void* out);

}  // namespace kcs
