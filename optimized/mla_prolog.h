// K2 MLA Prolog Quant, optimized (spec §4, §13): fused per token tile on the primitives' engines.
//
// Per token tile [t0, t1) (knob tile_bs), in the order of spec §4.3, each stage's work items
// spread over the OpenMP threads (each item owns its outputs: the thread count never changes a
// bit):
//   x·w_dq and x·w_dkv_kr         BF16 engine (gemm_bf16_tile), items of m_tile rows x n_tile columns
//   RMSNorm of qa and of kv[:512]  RMSNorm engine rows (mv_tile rows per item)
//   R-V2 of kv[512:]               the rope engine on strided slices (RopeArgs strides)
//   Q8 of cq, Q8 of the 4 groups   Q8 engine rows
//   q up-projection                INT8 engine (quant; packed W, or direct row-major W at small t
//                                  on the per-call path) or BF16 engine (non-quant)
//   q_nope · w_uk                  BF16 engine batched over the heads, reading the nope slices of
//                                  qb in place (lda = n1·192, batch stride 192) and writing
//                                  query_nope_out in place (ldy = n1·512, batch stride 512)
//   R-V2 of the q rope slices      the rope engine, from qb straight into query_rope_out
//   three scatters                 scatter engine, tile after tile in token order (last wins)
// Every engine computes each output element with one instruction sequence whatever the tile, so
// tile_bs, m_tile, mv_tile and n_tile change no bit (batch invariance, spec §1.8); the K-block
// knobs change the BF16 summation blocks (within the contracts). AVX-512 and AVX2 give the same
// bits for the same knobs (the engines are bitwise equal across ISAs).
#pragma once

#include <cstdint>
#include <memory>

#include "kcs/cpu.h"
#include "kcs/kernels/mla_prolog.h"
#include "kcs/kernels/scatter.h"
#include "optimized/gemm_bf16.h"
#include "optimized/gemm_i8.h"

namespace kcs::opt {

// ---- Adapter level (optimized/mla_prolog.cc) -------------------------------------------------

// The weights in the engines' layouts. Packing once and reusing them is the serving path (weights
// are fixed); the Invocation path packs per call.
struct MlaPrologWeights {
  MlaPrologDims d;
  Isa isa = Isa::avx512;
  PackedBf16Weights w_dq, w_dkv_kr, w_uk, w_uq_bf16;  // w_uk: batch n1; w_uq_bf16: non-quant only
  PackedI8View w_uq_i8;                               // quant: packed (data set) or direct (data null)
  const int8_t* w_uq_direct = nullptr;                // quant: row-major w_uq_qr (direct path)
  std::shared_ptr<uint8_t> i8_owner;                  // owns w_uq_i8's memory when packed here
  size_t i8_bytes = 0;
  const float* dequant_scale = nullptr;
  const uint16_t* gamma_cq = nullptr;
  const uint16_t* gamma_ckv = nullptr;
};

struct MlaPrologWeightsIn {
  const uint16_t* w_dq = nullptr;      // [h, q_lora]
  const void* w_uq_qr = nullptr;       // [q_lora, nq] int8 (quant) or bf16
  const float* dequant_scale = nullptr;  // [nq] (quant)
  const uint16_t* w_uk = nullptr;      // [n1, nope, kv_lora]
  const uint16_t* w_dkv_kr = nullptr;  // [h, kv_lora + rope]
  const uint16_t* gamma_cq = nullptr;
  const uint16_t* gamma_ckv = nullptr;
};

// pack_i8: pack w_uq_qr for the INT8 engine (false: the direct path reads it row-major).
void mla_prolog_pack(Isa isa, const MlaPrologDims& d, const MlaPrologWeightsIn& in, bool pack_i8, int threads,
                     MlaPrologWeights* out);

struct MlaPrologIo {
  const uint16_t* token_x = nullptr;
  const uint16_t* cos = nullptr;
  const uint16_t* sin = nullptr;
  const int64_t* cache_index = nullptr;  // checked by the caller (all < capacity)
  void* kv_cache = nullptr;
  uint16_t* kr_cache = nullptr;
  float* k_scale_cache = nullptr;
  void* q_norm_out = nullptr;
  float* q_norm_scale_out = nullptr;     // quant mode
  uint16_t* query_nope_out = nullptr;
  uint16_t* query_rope_out = nullptr;
  double eps_cq = 1e-5, eps_ckv = 1e-5;
  CacheLayout layout = CacheLayout::pa_bsnd;
};

// The knobs of the declaration (decl/mla_prolog.cc), as passed.
struct MlaPrologTiles {
  int64_t tile_bs = 8, m_tile = 16, mv_tile = 8, n_tile = 0;
  int64_t pre_quant_k = 0, wuk_k = 0, qb_k = 0;
};

void mla_prolog_run(const MlaPrologWeights& w, const MlaPrologIo& io, const MlaPrologTiles& tiles, int threads);
// The same with the call's dimensions `d` (tokens, cache geometry), which must agree with w.d in
// every dimension of a weight (a Plan's calls).
void mla_prolog_run(const MlaPrologWeights& w, const MlaPrologDims& d, const MlaPrologIo& io,
                    const MlaPrologTiles& tiles, int threads);

// ISA variants, best first (optimized/variants.h). K2 has no ISA code of its own: a row names, by
// ISA, the rows of the engines' own tables that it runs (so one variant may mix engines of two ISAs).
struct MlaPrologVariant {
  Isa isa;
  Isa gemm_i8, gemm_bf16, vec;  // the INT8 and BF16 GEMM engines; Q8, RMSNorm, RoPE and scatter
};
inline constexpr MlaPrologVariant kMlaPrologVariants[] = {
    {Isa::avx512, Isa::avx512, Isa::avx512, Isa::avx512},
    {Isa::avx2, Isa::avx2, Isa::avx2, Isa::avx2},
};

}  // namespace kcs::opt
