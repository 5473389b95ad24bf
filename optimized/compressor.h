// compressor (K5) ISA entry points, one ISA-neutral body (optimized/compressor-inl.h) compiled
// per ISA (optimized/avx512/compressor.cc, optimized/avx2/compressor.cc): the pooling of a head's
// blocks straight from the projection rows, and the glue steps of the epilogues. The RMSNorm, the
// RoPE of the model epilogue and the packed Hadamard GEMM are the primitive engines
// (optimized/rmsnorm.h, rope.h, gemm_bf16.h). Every step is the same IEEE binary32 operations on
// every lane in both ISAs (identical bits):
//   pooling:   softmax_pool's sequence (optimized/softmax_pool.h) with z = score ⊕ ape (the one
//              binary32 add of the reference, include/kcs/kernels/compressor.h) over the window
//              (current positions, then the CSA previous half); a window of at most 8 positions
//              is one partial block, a longer one (HCA) sums in blocks of 8 positions.
//   fused row: out[c] = bf16(x[c]) for c < nope; for the rope pairs (x0, x1) at nope + 2p:
//              y0 = (x0 ⊗ cos_p) ⊖ (x1 ⊗ sin_p), y1 = (x1 ⊗ cos_p) ⊕ (x0 ⊗ sin_p), then BF16
//              (spec §7.4, no FMA; ⊕ is commutative, so y1 is the spec's x0·sin + x1·cos)
//   bf16 row:  y[c] = bf16(x[c])
// BF16 rounding: integer round to nearest even, subnormals kept, NaN -> quiet NaN (spec §13).
#pragma once

#include <cstdint>

#include "kcs/cpu.h"

namespace kcs::opt {

// One head of a call, as the pooling reads it (docs/kernels/compressor.md "Interface").
struct CompressorPoolHead {
  const void* proj = nullptr;  // [N, G, 2Ch]: token t's half h is [values | scores] at (t·G + h)·2Ch
  const void* prev = nullptr;  // [M, 2Ch] (CSA with external_prev)
  const float* ape = nullptr;  // [G, M, Ch]
  bool bf16 = true;            // proj / prev storage (else fp32)
  bool csa = true, external_prev = false;
  int64_t M = 0, Ch = 0, start_token = 0, n_blocks = 0;
  float* work = nullptr;  // compressor_pool_work(Ch) floats (windows longer than 8)
};

// Floats of CompressorPoolHead::work for calls of at most Ch columns: pool_long's three strip rows,
// then up to 8 ape rows split in groups of 32 columns.
constexpr int64_t compressor_pool_work(int64_t Ch) { return 3 * (Ch + 16) + 8 * ((Ch + 31) / 32 * 32); }

// Rows pooled + (i - b0)·Ch, columns [c0, c1) in strips of cpc (<= 0: one strip), of blocks
// [b0, b1): the pooled binary32 values.
void compressor_pool_avx512(const CompressorPoolHead& h, int64_t b0, int64_t b1, int64_t c0, int64_t c1, int64_t cpc,
                            float* pooled);
void compressor_pool_avx2(const CompressorPoolHead& h, int64_t b0, int64_t b1, int64_t c0, int64_t c1, int64_t cpc,
                          float* pooled);

// One output row of n columns; cs / sn hold (n - nope) values: the pair's cos / sin duplicated
// on both of its columns (cs[2p] = cs[2p + 1] = cos_p). nope == n: no rope columns (the bf16 row).
void compressor_fused_row_avx512(const float* x, int64_t n, int64_t nope, const float* cs, const float* sn, uint16_t* out);
void compressor_fused_row_avx2(const float* x, int64_t n, int64_t nope, const float* cs, const float* sn, uint16_t* out);

// Rows [0, rows) of y = bf16(x · H) for BF16 x [rows, n] and the unpacked BF16 H [n, n]
// (row-major), for a few rows without packing H: the same IEEE operations as the BF16 GEMM
// engine (optimized/gemm_bf16.h) with k_block = 0, so the same bits: per output element one
// binary32 chain from +0 over the pairs p, acc = fma(x[2p+1], H[2p+1], acc), then
// acc = fma(x[2p], H[2p], acc) (an odd n pads the last pair with 0 · 0), then the engine's BF16
// rounding (nearest even, subnormals kept; NaN -> (bits >> 16) | 0x40).
void compressor_hadamard_rows_avx512(const uint16_t* x, int64_t rows, int64_t n, const uint16_t* H, uint16_t* y);
void compressor_hadamard_rows_avx2(const uint16_t* x, int64_t rows, int64_t n, const uint16_t* H, uint16_t* y);

// ISA variants, best first (optimized/variants.h).
struct CompressorVariant {
  Isa isa;
  decltype(&compressor_pool_avx2) pool;
  decltype(&compressor_fused_row_avx2) fused_row;
  decltype(&compressor_hadamard_rows_avx2) hadamard_rows;
};
inline constexpr CompressorVariant kCompressorVariants[] = {
    {Isa::avx512, &compressor_pool_avx512, &compressor_fused_row_avx512,
     &compressor_hadamard_rows_avx512},
    {Isa::avx2, &compressor_pool_avx2, &compressor_fused_row_avx2,
     &compressor_hadamard_rows_avx2},
};

}  // namespace kcs::opt
