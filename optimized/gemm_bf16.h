// BF16 GEMM engines (spec §13 "BF16 GEMMs"): the stand-alone gemm_bf16 and hadamard kernels and,
// per tile, the fused kernels (K1 x·wk fp32 out, K1 x·w_proj bf16 out, K2 batched q_nope·w_uk).
//
// What every engine computes (AVX-512 and AVX2 alike, so the two give the same bits):
//   K is walked in pairs p = (2p, 2p+1) (an odd K pads the last pair with a zero). Per output
//   element, one binary32 accumulator takes, pair after pair, the IEEE fused multiply-adds
//       acc = fma(a[2p+1], w[2p+1], acc);  acc = fma(a[2p], w[2p], acc)
//   which is exactly the Intel SDM definition of vdpbf16ps (odd element first, one rounding per
//   step; verified bit for bit on the project's Zen CPU, see conformance/suites/gemm_bf16_test.cc).
//   k_block = 0: one chain over all of K.  k_block = kb > 0: one chain per block of kb (rounded up
//   to an even number), the block sums added to the running binary32 total in block order.
//   Then y = the binary32 total, or its BF16 / FP16 rounding (nearest even, subnormals kept,
//   overflow to Inf; BF16 with integer arithmetic, FP16 with vcvtps2ph).
// The engines' internal cache blocking reloads the fp32 accumulators from memory and continues
// the same chains, so neither it nor m_tile / n_tile nor the thread count changes a bit.
//
// vdpbf16ps treats BF16 subnormal inputs as zero (DAZ) and flushes subnormal results (FTZ); the
// fp32 FMA path keeps both (MXCSR is never touched; kcs assumes the default DAZ = FTZ = 0).
// The AVX-512 engine therefore uses vdpbf16ps only for rows where it provably equals the FMA
// chain: no subnormal in the row of A nor in W, and every product a multiple of 2^-126. With
// m = smallest nonzero |bit pattern| (the min_mag below; exponent field = m >> 7) that is
//   m_a >= 0x80 && m_w >= 0x80 && (m_a >> 7) + (m_w >> 7) >= 142        (2^(e_a+e_w-14) >= 2^-126)
// Then every partial sum is 0 or a normal multiple of 2^-126 and DAZ / FTZ never act. Other rows
// go through the FMA path (same result, slower). The decision is per row of A, so it cannot
// depend on tiling or on other rows (batch invariance, spec §1.8). NaN / Inf inputs are out of
// contract (spec §9): both paths propagate them as IEEE FMAs do (NaN payloads may differ).
//
// Weights are prepacked (pack_bf16_weights) into strips of 16 columns; per strip, per K pair p,
// 16 dwords: dword j = w[2p, 16s + j] | w[2p + 1, 16s + j] << 16 (zero past K or N). The
// Invocation path packs W per call; fused kernels and the bench pack once and reuse it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "kcs/cpu.h"
#include "kcs/dtype.h"
#include "kcs/kernels/gemm_bf16.h"

namespace kcs::opt {

constexpr int64_t kBf16StripCols = 16;
// Smallest nonzero |bit pattern| of a vector with no nonzero element.
constexpr uint32_t kBf16AllZeroMag = 0x10000;

// Packed weights as the engines see them (no ownership).
struct PackedBf16View {
  const uint32_t* data = nullptr;  // 64-byte aligned
  int64_t batch = 1, k = 0, n = 0;
  int64_t kpairs = 0, strips = 0;     // ceil(k/2), ceil(n/16)
  int64_t strip_stride = 0;           // dwords between strips = kpairs * 16
  int64_t batch_stride = 0;           // dwords between batch matrices = strips * strip_stride
  const uint32_t* min_mag = nullptr;  // [batch] smallest nonzero |bits| of each matrix
};

// Which instructions form the products (a test hook; the kernels always use automatic).
enum class Bf16Path : uint8_t {
  automatic,  // vdpbf16ps where it is exact (rule above), FMA elsewhere; AVX2: FMA
  dot,        // vdpbf16ps for every row: DAZ / FTZ act (AVX-512 only)
  fma,        // the fp32 FMA path for every row
};

struct GemmBf16Args {
  int64_t batch = 1, m = 0, k = 0, n = 0;
  const uint16_t* a = nullptr;  // row i of batch b at a + b * a_batch_stride + i * lda
  int64_t lda = 0, a_batch_stride = 0;
  void* y = nullptr;  // float, or bf16 / fp16 bit patterns; row i of batch b at y + b * y_batch_stride + i * ldy
  int64_t ldy = 0, y_batch_stride = 0;
  DType y_dtype = DType::fp32;  // fp32, bf16 or fp16
  int64_t k_block = 0;          // summation blocks (0 = one chain); changes results within the contract
  // Optional [batch * m] min_mag of each row of A (a caller that runs many tiles over the same
  // rows can compute it once); null: each tile computes it for its rows.
  const uint32_t* row_min_mag = nullptr;
  Bf16Path path = Bf16Path::automatic;
};

// The vdpbf16ps exactness rule above.
constexpr bool bf16_dot_exact(uint32_t row_min_mag, uint32_t w_min_mag) {
  return row_min_mag >= 0x80 && w_min_mag >= 0x80 && (row_min_mag >> 7) + (w_min_mag >> 7) >= 142;
}

// ---- ISA entry points (optimized/avx512/gemm_bf16.cc, optimized/avx2/gemm_bf16.cc) ------------

// One micro-tile: mr rows x ns strips over one K panel. acc starts at 0 (mode set / add) or at C
// (chain); the result is acc (set / chain) or C + acc (add, one binary32 add), written to C or,
// on the last panel, rounded into y.
enum class Bf16Mode : uint8_t { set, chain, add };
struct Bf16Micro {
  const uint16_t* const* a = nullptr;  // mr row pointers at the panel's first k
  int64_t kc = 0;                      // panel length; odd only for the last panel of an odd K
  const uint32_t* w = nullptr;         // first strip at the panel's first pair
  int64_t w_strip_stride = 0;          // dwords between strips
  float* const* c = nullptr;           // mr fp32 row pointers at the first strip's first column
  Bf16Mode mode = Bf16Mode::set;
  // The last panel rounds straight into y instead of writing C: row r of y starts (column 0) at
  // out[r]; the first strip's first column is col0; only columns [lo, hi) are written (the rest
  // of a strip belongs to other tiles or lies past N). out == nullptr: write C.
  char* const* out = nullptr;
  DType out_dtype = DType::fp32;
  int64_t col0 = 0, lo = 0, hi = 0;
  bool prefetch = false;  // W comes from DRAM in this call: prefetch ahead (vdpbf16ps path)
  // Wide FMA kernel only: row r's panel widened to fp32, odd elements at af[r][p], even ones at
  // af[r][af_even + p] (gemm_bf16_widen_avx512).
  const float* const* af = nullptr;
  int64_t af_even = 0;
};
// Largest micro-tiles: AVX-512 vdpbf16ps 6 x 4 strips, AVX-512 FMA 4 x 2, AVX2 FMA 4 x 1.
constexpr int kBf16DotMaxMr = 6, kBf16DotMaxNs = 4;
constexpr int kBf16FmaMaxMr512 = 4, kBf16FmaMaxNs512 = 2;
constexpr int kBf16FmaMaxMr256 = 4, kBf16FmaMaxNs256 = 1;
void gemm_bf16_micro_avx512(bool dot, int mr, int ns, const Bf16Micro& m);
void gemm_bf16_micro_avx2(int mr, int ns, const Bf16Micro& m);
// AVX-512 FMA kernel for tiles of more than 16 rows where vdpbf16ps is slow (up to 8 rows x 3
// strips; same bits as the others): A is widened once per panel into fp32 odd / even arrays
// (kc odd: the half pair's odd element +0), so each pair costs two broadcast loads per row.
constexpr int kBf16WideMaxMr = 8, kBf16WideMaxNs = 3;
void gemm_bf16_micro_wide_avx512(int mr, int ns, const Bf16Micro& m);
void gemm_bf16_widen_avx512(const uint16_t* a, int64_t kc, float* odd, float* even);
// Whether vdpbf16ps costs more than 1.5 FMAs on this CPU (timed once by the caller).
bool gemm_bf16_dot_slow_avx512();

// Smallest nonzero |bit pattern| (bits & 0x7FFF) of n bf16 values; kBf16AllZeroMag if none.
uint32_t gemm_bf16_min_mag_avx512(const uint16_t* x, int64_t n);
uint32_t gemm_bf16_min_mag_avx2(const uint16_t* x, int64_t n);

// One output row segment of n values from fp32 (dtype fp32: copy; bf16 / fp16: round as above).
void gemm_bf16_store_row_avx512(const float* c, int64_t n, DType dtype, void* y);
void gemm_bf16_store_row_avx2(const float* c, int64_t n, DType dtype, void* y);

// ---- Adapter level (optimized/gemm_bf16.cc) ------------------------------------------------------

// Owning prepacked weights.
class PackedBf16Weights {
 public:
  PackedBf16Weights() = default;
  const PackedBf16View& view() const { return view_; }
  size_t bytes() const { return bytes_; }

 private:
  struct Free {
    void operator()(void* p) const;
  };
  friend void pack_bf16_weights_into(PackedBf16Weights& out, const uint16_t* w, int64_t batch, int64_t k, int64_t n,
                                     int64_t ldw, int64_t w_batch_stride, int threads);
  std::unique_ptr<uint32_t, Free> data_;
  std::unique_ptr<uint32_t[]> min_mag_;
  size_t bytes_ = 0, capacity_ = 0;
  int64_t min_mag_size_ = 0;
  PackedBf16View view_;
};

// Packs `batch` matrices W [k, n] (row kk of matrix b at w + b * w_batch_stride + kk * ldw),
// strips spread over `threads`. Scalar and ISA-independent: the layout is the same for every ISA.
PackedBf16Weights pack_bf16_weights(const uint16_t* w, int64_t batch, int64_t k, int64_t n, int64_t ldw,
                                    int64_t w_batch_stride, int threads);
// The same into `out`, reusing its memory when it is large enough (per-call packing).
void pack_bf16_weights_into(PackedBf16Weights& out, const uint16_t* w, int64_t batch, int64_t k, int64_t n,
                            int64_t ldw, int64_t w_batch_stride, int threads);

// Rows [m0, m1) x columns [n0, n1) of batch b, all of K. Each (b, row, column) is computed by
// exactly one instruction sequence whatever the tile, so tiles can be run in any order, on any
// thread, or be called by fused kernels one token tile at a time. Uses thread-local scratch.
void gemm_bf16_tile(Isa isa, const GemmBf16Args& g, const PackedBf16View& w, int64_t b, int64_t m0, int64_t m1,
                    int64_t n0, int64_t n1);

// Work items of a whole call: m_tile rows x n_tile columns (0 = all; both never change a bit).
struct GemmBf16Tiling {
  int64_t m_tile = 0;
  int64_t n_tile = 0;
};
// A tiling that gives `threads` threads enough items: m_tile 128, n_tile = all unless there are
// fewer than 2 items per thread, then whole strips split evenly.
GemmBf16Tiling gemm_bf16_auto_tiling(int64_t batch, int64_t m, int64_t n, int threads);

// The whole call: work items over OpenMP threads (one parallel region; none for one item).
void gemm_bf16_run(Isa isa, const GemmBf16Args& g, const PackedBf16View& w, const GemmBf16Tiling& t, int threads);

// ISA variants, best first (optimized/variants.h).
struct GemmBf16Variant {
  Isa isa;
  decltype(&gemm_bf16_min_mag_avx2) min_mag;
  decltype(&gemm_bf16_store_row_avx2) store_row;
};
inline constexpr GemmBf16Variant kGemmBf16Variants[] = {
    {Isa::avx512, &gemm_bf16_min_mag_avx512, &gemm_bf16_store_row_avx512},
    {Isa::avx2, &gemm_bf16_min_mag_avx2, &gemm_bf16_store_row_avx2},
};

}  // namespace kcs::opt
