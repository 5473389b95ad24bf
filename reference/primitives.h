// The primitive references: binary64 (or, where spec §10.1 says so, binary32) bodies that the
// reference adapters and the fused references are built from. Callers: the reference backend,
// the conformance suites, the fixture generators, tests and benches; never optimized/ or decl/.
#pragma once

#include <cstdint>

#include "kcs/dtype.h"
#include "kcs/kernels/gemm_bf16.h"
#include "kcs/kernels/gemm_i8.h"
#include "kcs/kernels/layernorm.h"
#include "kcs/kernels/nvfp4_quant.h"
#include "kcs/kernels/nvfp4_stage.h"
#include "kcs/kernels/q8.h"
#include "kcs/kernels/rmsnorm.h"
#include "kcs/kernels/rope.h"
#include "kcs/kernels/scatter.h"
#include "kcs/kernels/softmax_pool.h"
#include "kcs/kernels/v4_indexer.h"

namespace kcs {

// ---- gemm_bf16 (include/kcs/kernels/gemm_bf16.h)
// One GEMM (or a batch of them) on caller-owned memory, for the gemm_bf16 references below.
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

// ---- gemm_i8 (kcs/kernels/gemm_i8.h)
// The dequant of one accumulator, as the spec writes it (binary32, row scale first, no FMA).
float gemm_i8_dequant(int32_t acc, float s_row, float s_col);

// Reference over rows [m0, m1) and columns [n0, n1): int64 sums (exact), then the binary32
// dequant. Optionally records, as dense [m, n] arrays indexed like the full output, the binary32
// value y before the bf16 cast (`pre`) and the abs-dot Σ_k |a·w| (`abs_dot`).
void gemm_i8_reference(const GemmI8Args& g, int64_t m0, int64_t m1, int64_t n0, int64_t n1, float* pre = nullptr,
                       double* abs_dot = nullptr);

// ---- layernorm (kcs/kernels/layernorm.h)
// Reference LayerNorm of one FP32 row (gamma, beta BF16 widened to binary32). Writes the binary64
// values just before the BF16 cast into y[n] (the caller casts with bf16_from_double) and, when
// budget != nullptr, the budget B_j of kcs/kernels/layernorm.h (units of 2^-24).
void layernorm_row_reference(const float* x, const float* gamma, const float* beta, int64_t n, double eps, double* y,
                             double* budget = nullptr);

// ---- rmsnorm (kcs/kernels/rmsnorm.h)
// Reference RMSNorm of one row of n values (x exactly representable in binary32: BF16 widened;
// gamma BF16 or FP32 widened). Writes the binary64 values just before the BF16 cast into y[n]
// (the caller casts with bf16_from_double). When budget != nullptr, writes budget[j] =
// (n + 11)/2 · |y_j|: the first-order bound E·|ŷ_j| of kcs/kernels/rmsnorm.h in units of 2^-24 (informational: the
// max_ulp(1) contract is what that bound proves). Returns 1/sqrt(ms + eps) in binary64.
double rmsnorm_row_reference(const float* x, const float* gamma, int64_t n, double eps, double* y,
                             double* budget = nullptr);

// ---- q8 (kcs/kernels/q8.h)
// Reference quantization of one row. Writes n codes, optionally the pre-rounding y_j, and returns
// s_dq in binary32 (the caller casts it to the kernel's storage format).
float q8_row_reference(const float* v, int64_t n, const Q8Params& p, int8_t* codes, float* y = nullptr);

// ---- nvfp4_quant (kcs/kernels/nvfp4_quant.h)
// One 128-element block: 64 packed code bytes and 8 scale bytes. Optional pre-rounding values:
// w_pre[128] (the clamped w_j each code rounds) and scale_pre[8] (the fp32 value each scale byte
// encodes).
void nvfp4_block_reference(const float* v, const Nvfp4Params& p, uint8_t* fp4, uint8_t* sf,
                           float* w_pre = nullptr, float* scale_pre = nullptr);

// One row of K elements (K a multiple of 128): K/2 code bytes and K/64 scale words.
void nvfp4_row_reference(const float* v, int64_t k, const Nvfp4Params& p, uint8_t* x_fp4, int32_t* x_sf,
                         float* w_pre = nullptr, float* scale_pre = nullptr);

// ---- nvfp4_stage (kcs/kernels/nvfp4_stage.h)
// Step 8 for one token: top_k ids (INT32 or INT64 storage) widened to INT64 and top_k FP32
// weights copied.
void nvfp4_stage_topk_reference(const void* ids, DType ids_dtype, const float* weights, int64_t top_k,
                                int64_t* idx_out, float* weights_out);

// ---- rope (kcs/kernels/rope.h)
// One head's rope slice for the reference.
struct RopeSliceRef {
  RopeMode mode = RopeMode::half;
  int64_t R = 0;               // even, >= 2
  const float* cos = nullptr;  // R values (full table) or R/2 (half table), widened exactly
  const float* sin = nullptr;
  bool half_table = false;
};

// Binary64 reference of one rope slice: writes the pre-rounding values y[R] (the caller casts
// with bf16_from_double) and, when abs_terms != nullptr, abs_terms[j] = |x_j·c_j| + |r_j·s_j| (the
// two products that form y_j). x holds R values exactly representable in binary32 (BF16).
void rope_slice_reference(const RopeSliceRef& s, const float* x, double* y, double* abs_terms = nullptr);

// ---- scatter (kcs/kernels/scatter.h)
// Reference scatter_update: tokens in order, byte copies, negative indices skipped. The caller
// has checked the indices (scatter_check_indices); out-of-range ones throw kcs::Error here.
void scatter_reference(const ScatterGeom& g, void* cache, const void* src, const int64_t* index, int64_t T);

// ---- softmax_pool (kcs/kernels/softmax_pool.h)
// Σ_q w_q |v_q| with the normalised weights w_q = e_q / den: the error budget of one output
// (spec §10.5 K5 row, §11 /budget/).
struct PoolColumn {
  double mx = 0;      // max logit (>= -FLT_MAX), NaNs ignored
  double den = 0;     // Σ e_q
  double pooled = 0;  // acc / den before the fp32 store
  double abs_wv = 0;  // Σ (e_q / den) |v_q|
};

// Reference for one column: logits z[q * zs] and values v[q * vs] for q in [0, M), in binary64
// (the K5 reference passes its fp32 logits and BF16/FP32 values widened exactly).
PoolColumn softmax_pool_column_reference(const double* z, int64_t zs, const double* v, int64_t vs, int64_t M);

// ---- v4_indexer (kcs/kernels/v4_indexer.h)
// Reference top-k of one row: the k = min(topk, n) largest score[0, n), descending, ties by the
// lower index, plus offset, into out[0, k); out[k, out_len) = -1. Returns k.
int64_t v4_topk_reference(const float* score, int64_t n, int64_t topk, int64_t offset, int32_t* out,
                          int64_t out_len);

}  // namespace kcs
