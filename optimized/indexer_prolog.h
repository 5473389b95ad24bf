// K1 indexer_prolog: ISA pieces of the fused kernel (optimized/avx512/indexer_prolog.cc,
// optimized/avx2/indexer_prolog.cc). Everything else comes from the primitives' engines
// (optimized/{gemm_i8,gemm_bf16,rope,layernorm,q8,scatter}.h); the adapter
// (optimized/indexer_prolog.cc) fuses them per token tile.
#pragma once

#include <cstdint>

#include "kcs/cpu.h"
#include "optimized/gemm_bf16.h"
#include "optimized/gemm_i8.h"

namespace kcs::opt {

// The whole call on caller memory (the Invocation adapter and the bench use it). Shapes and
// tensor names as in decl/indexer_prolog.cc; the caller has validated them (validate_call:
// shapes, dtypes, every k_cache_index < block_num·block_size). Caches are updated in place.
struct IndexerPrologArgs {
  int64_t t = 0, h = 0, q_lora = 0, H = 0, D = 0, R = 0, block_num = 0, block_size = 0;
  float eps = 1e-6f;  // f32 of the eps attribute
  const uint16_t* x = nullptr;
  const int8_t* q_norm = nullptr;
  const float* q_norm_scale = nullptr;
  const int8_t* w_qb = nullptr;
  const float* w_qb_scale = nullptr;
  const uint16_t *wk = nullptr, *w_proj = nullptr, *ln_gamma_k = nullptr, *ln_beta_k = nullptr;
  const uint16_t *cos = nullptr, *sin = nullptr, *hadamard_q = nullptr, *hadamard_k = nullptr;
  int8_t* k_cache = nullptr;
  uint16_t* k_scale_cache = nullptr;
  const int64_t* k_cache_index = nullptr;
  int8_t* q_int8 = nullptr;
  uint16_t* q_scale = nullptr;
  uint16_t* weights = nullptr;
  // Optional weights prepacked once by the caller (inference packs at load time): the int8 q_b
  // panels of this ISA's layout (pack_i8_weights) and the BF16 strips of wk / w_proj
  // (pack_bf16_weights). When set they are used for every t (same bits as the other paths).
  const PackedI8View* w_qb_packed = nullptr;
  const PackedBf16View* wk_packed = nullptr;
  const PackedBf16View* w_proj_packed = nullptr;
};
// The tile knobs (decl/indexer_prolog.cc gives their meaning; head_chunk 0 = auto).
struct IndexerPrologTiles {
  int64_t unroll = 32, head_chunk = 0, q_k_block = 0, k_k_block = 0, w_k_block = 0, hd_k_block = 0;
};
void indexer_prolog_run(Isa isa, const IndexerPrologArgs& a, const IndexerPrologTiles& tiles, int threads);

// Direct BF16 GEMM for decode tiles: y[r, j] = Σ_k a[r, k]·w[k, n0 + j] for rows [0, m) and
// columns [n0, n1), W plain row-major [k, ldw] (no packing: at t <= a few tokens packing would
// read and write W once more than the product reads it). y is fp32 [m, ldy].
// It computes exactly what the gemm_bf16 engines compute (optimized/gemm_bf16.h): per element one
// binary32 chain over K pairs p, acc = fma(a[2p+1], w[2p+1], acc) then acc = fma(a[2p], w[2p], acc)
// (an odd K pads the last pair with zeros), starting from +0; with k_block > 0 (rounded up to
// even) one such chain per block, the first block's sum is the total and each later block's sum
// is added to it in block order. Same bits as the engines, so the adapter may pick either path.
struct Bf16Direct {
  const uint16_t* a = nullptr;  // [m, lda] BF16
  int64_t lda = 0, m = 0, k = 0;
  const uint16_t* w = nullptr;  // [k, ldw] BF16
  int64_t ldw = 0;
  int64_t k_block = 0;
  float* y = nullptr;
  int64_t ldy = 0;
};
void ip_bf16_direct_avx512(const Bf16Direct& g, int64_t n0, int64_t n1);
void ip_bf16_direct_avx2(const Bf16Direct& g, int64_t n0, int64_t n1);

// Spec §3.3 step 13 on n values: out[j] = fp16(f32(wb[j]) ⊗ c) (BF16 widened exactly, one binary32
// multiply, vcvtps2ph nearest even; FP16 subnormals are produced exactly, MXCSR untouched).
void ip_weights_avx512(const uint16_t* wb, int64_t n, float c, uint16_t* out);
void ip_weights_avx2(const uint16_t* wb, int64_t n, float c, uint16_t* out);

// ISA variants, best first (optimized/variants.h).
struct IndexerPrologVariant {
  Isa isa;
  decltype(&ip_bf16_direct_avx2) bf16_direct;
  decltype(&ip_weights_avx2) weights;
};
inline constexpr IndexerPrologVariant kIndexerPrologVariants[] = {
    {Isa::avx512, &ip_bf16_direct_avx512, &ip_weights_avx512},
    {Isa::avx2, &ip_bf16_direct_avx2, &ip_weights_avx2},
};

}  // namespace kcs::opt
