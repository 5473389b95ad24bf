// gemm_i8: INT8 x INT8 -> INT32 GEMM + dequant (docs/kernels/gemm_i8.md). The engine of K1's q path
// (q_norm [t, 1536] x w_qb [1536, 8192]), K2's q_b and K3's qr / score GEMMs.
//
//   acc[i, n] = Σ_k a[i, k] · w[k, n]            in int32: exact (no overflow for K < 131072)
//   y[i, n]   = (f32(acc[i, n]) ⊗ s_row[i]) ⊗ s_col[n]   binary32, exactly in this order
//   stored as fp32, or as bf16(y) (nearest even, subnormals kept) when the kernel casts.
// Both outputs are exactly determined (spec §10.1 exception, §10.2), so every implementation
// must reproduce them bit for bit. f32(acc) rounds (nearest even) once |acc| > 2^24.
//
// Layouts are plain row-major with leading dimensions (spec §1.7: weights as ND [K, N]).
#pragma once

#include <cstdint>

#include "kcs/dtype.h"

namespace kcs {

// Largest K whose int32 accumulators cannot overflow: K · 128 · 128 < 2^31 (spec §1.2).
constexpr int64_t kGemmI8MaxK = 131071;

// One GEMM call on caller-owned memory. acc and y are optional (nullptr: not written), so a fused
// kernel can take just the dequantized values.
struct GemmI8Args {
  int64_t m = 0, k = 0, n = 0;
  const int8_t* a = nullptr;  // [m, k] activations
  int64_t lda = 0;
  const int8_t* w = nullptr;  // [k, n] weights
  int64_t ldw = 0;
  const float* s_row = nullptr;  // [m] per-row activation scale
  const float* s_col = nullptr;  // [n] per-column weight scale
  int32_t* acc = nullptr;        // [m, n] optional
  int64_t ldacc = 0;
  void* y = nullptr;  // [m, n] optional: float, or bf16 bit patterns (uint16_t)
  int64_t ldy = 0;
  DType y_dtype = DType::fp32;  // fp32 or bf16
};

struct Invocation;
// The stand-alone kernel's tensors as one GemmI8Args (a, w, s_row, s_col in; acc, y out).
GemmI8Args gemm_i8_args(const Invocation& inv);

}  // namespace kcs
