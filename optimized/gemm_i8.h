// INT8 GEMM + dequant engines (spec §1.2, §13 "INT8 GEMMs"), one per ISA, for the stand-alone
// gemm_i8 kernel and for the fused kernels (K1 q path, K2 q_b, K3 qr / score) that call them per
// token tile. Every engine is bit-identical to gemm_i8_reference: the int32 sums are exact
// (integer arithmetic mod 2^32 whose true result fits int32), the dequant is the spec's binary32
// sequence with no FMA, and BF16 is rounded with integers (nearest even, subnormals kept).
//
// Two ways to read the weights:
//   direct   plain row-major W [K, N]; the engine interleaves K rows in registers. No set-up
//            cost. The row-major layout makes it read each weight row in runs of at most
//            4096 bytes (a work item's columns), 8 rows at a time, which streams DRAM less well
//            than one sequential stream: on Zen 4, 1 thread, K1 q_b at M = 1 it reaches about
//            0.6-0.7 of the read-bandwidth limit. The Invocation path uses it for M < 13.
//   packed   W repacked (pack_i8_weights / pack_i8_weights_into) into 64-column panels that the
//            inner loop reads as plain sequential streams: 0.75-0.9 of the bandwidth limit at
//            M = 1 and 0.75-0.86 of the VNNI peak at M = 1024 (same machine). Packing costs
//            about one read + one (non-temporal) write of W, ~1.2 ms for K1 q_b; fused kernels
//            with fixed weights pack once and reuse the panels, the Invocation path packs per
//            call from M = 13 on (kGemmI8PackMinM) into a reused per-thread buffer.
// Both paths give the same bits (they are the same integer sums).
//
// AVX-512 (needs AVX512-VNNI): vpdpbusd is u8 x s8, so the WEIGHTS carry the +128 bias
// (u8 = w ^ 0x80) and the activations stay s8, broadcast straight from row-major A:
//   Σ_k a·(w + 128) = acc + 128·Σ_k a   =>   acc = Σ_k a·(w ^ 0x80) − 128·rowsum(a).
// The correction is a per-row constant, so it is the accumulators' initial value. Then every
// partial sum is acc_t − 128·Σ_{j>t} a_j, within ±2^14·K < 2^31: nothing wraps or saturates on
// the way (a zero start with the correction subtracted at the end would pass ±127·255·K).
// Biasing W rather than A keeps the bias free in the packed layout and needs no colsum table.
// vpmaddubsw (saturating) is never used.
// AVX2: rows k, k+1 interleaved bytewise, sign-extended to int16 (vpmovsxbw), vpmaddwd with the
// broadcast pair (a_k, a_k+1), vpaddd. Exact: |a·w + a'·w'| <= 2^15.
//
// Packed layouts (zero / bias padded to whole groups; padding never reaches an output):
//   avx512  panels of 64 columns; per panel, per K quad q: 256 bytes = 4 x 16 columns x
//           {w[4q..4q+3, c] ^ 0x80}. Size ceil(N/64) * ceil(K/4) * 256.
//   avx2    panels of 16 columns; per panel, per K pair p: 32 bytes = 16 columns x
//           {w[2p, c], w[2p+1, c]}. Size ceil(N/16) * ceil(K/2) * 32.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "kcs/cpu.h"
#include "kcs/kernels/gemm_i8.h"

namespace kcs::opt {

// Prepacked weights as the engines see them (no ownership; plain data for the ISA files).
struct PackedI8View {
  const uint8_t* data = nullptr;  // 64-byte aligned
  int64_t k = 0, n = 0;
  Isa isa = Isa::avx512;  // whose layout
};

// Blocking of one engine call; every value gives the same bits.
struct GemmI8Blocking {
  // K per accumulation pass, rounded up to the ISA's K group (4 / 2). 0 = the engine's default:
  // all K on the packed path, 8 rows on the direct path (which sweeps each pass across up to
  // 4096 columns so that every weight row is read in long runs).
  int64_t k_block = 0;
};

// ---- ISA entry points (optimized/avx512/gemm_i8.cc, optimized/avx2/gemm_i8.cc) ----------------
// Computes rows [m0, m1) x columns [n0, n1) of g (acc and / or y), reading W from `packed` when
// it is non-null (layout of that ISA, same k and n as g) and from g.w otherwise.
void gemm_i8_avx512(const GemmI8Args& g, const PackedI8View* packed, const GemmI8Blocking& b, int64_t m0, int64_t m1,
                    int64_t n0, int64_t n1);
void gemm_i8_avx2(const GemmI8Args& g, const PackedI8View* packed, const GemmI8Blocking& b, int64_t m0, int64_t m1,
                  int64_t n0, int64_t n1);
// Writes panels [p0, p1) of the packed layout into `out` (packed_i8_bytes(isa, k, n) bytes).
void pack_i8_panels_avx512(const int8_t* w, int64_t ldw, int64_t k, int64_t n, int64_t p0, int64_t p1, uint8_t* out);
void pack_i8_panels_avx2(const int8_t* w, int64_t ldw, int64_t k, int64_t n, int64_t p0, int64_t p1, uint8_t* out);

// ---- Adapter-level helpers (optimized/gemm_i8.cc) ---------------------------------------------
int64_t packed_i8_panel_cols(Isa isa);  // 64 (avx512) or 16 (avx2)
size_t packed_i8_bytes(Isa isa, int64_t k, int64_t n);

// Owning prepacked weights.
class PackedI8Weights {
 public:
  PackedI8Weights() = default;
  const PackedI8View& view() const { return view_; }
  size_t bytes() const { return bytes_; }
  bool empty() const { return !data_; }

 private:
  struct Free {
    void operator()(uint8_t* p) const;
  };
  friend PackedI8Weights pack_i8_weights(Isa isa, const int8_t* w, int64_t ldw, int64_t k, int64_t n, int threads);
  std::unique_ptr<uint8_t, Free> data_;
  size_t bytes_ = 0;
  PackedI8View view_;
};

// Packs W [k, n] (leading dimension ldw) for `isa`'s engine, panels spread over `threads`.
PackedI8Weights pack_i8_weights(Isa isa, const int8_t* w, int64_t ldw, int64_t k, int64_t n, int threads);
// The same into caller memory (packed_i8_bytes(isa, k, n) bytes, 64-byte aligned), for callers
// that pack per call: a fresh allocation costs a page fault per 4 KiB on first touch, which is
// more than the packing itself.
PackedI8View pack_i8_weights_into(Isa isa, const int8_t* w, int64_t ldw, int64_t k, int64_t n, int threads,
                                  uint8_t* out);

// Tiling of a whole GEMM into independent work items (m_tile rows x n_tile columns; 0 = all).
struct GemmI8Tiling {
  int64_t m_tile = 64;
  int64_t n_tile = 4096;  // the declaration's defaults (decl/gemm_i8.cc says why so wide)
  GemmI8Blocking block;
};

// The whole GEMM: work items over OpenMP threads (each item owns its outputs, so the thread count
// cannot change a bit). `packed` may be null (direct path).
void gemm_i8_run(Isa isa, const GemmI8Args& g, const PackedI8View* packed, const GemmI8Tiling& t, int threads);

// M at and above which the Invocation path packs W per call before running (below it the
// direct path streams row-major W). A speed choice only: both paths give the same bits.
// Measured on K1 q_b (1536 x 8192, Zen 4, 1 thread): packing costs ~1.2 ms; the direct path
// costs ~0.7-1.1 ms per group of 6 rows (it re-reads W per group), the packed GEMM ~0.6 ms at
// M = 4 to 1.5 ms at M = 16. So direct wins up to two row groups (M <= 12).
constexpr int64_t kGemmI8PackMinM = 13;

// ISA variants, best first (optimized/variants.h), with each one's packed weight layout: panels
// of panel_cols columns, k in groups of k_group rows of group_bytes bytes per panel.
struct GemmI8Variant {
  Isa isa;
  decltype(&gemm_i8_avx2) gemm;
  decltype(&pack_i8_panels_avx2) pack;
  int64_t panel_cols, k_group, group_bytes;
};
inline constexpr GemmI8Variant kGemmI8Variants[] = {
    {Isa::avx512, &gemm_i8_avx512, &pack_i8_panels_avx512, 64, 4, 256},
    {Isa::avx2, &gemm_i8_avx2, &pack_i8_panels_avx2, 16, 2, 32},
};

}  // namespace kcs::opt
