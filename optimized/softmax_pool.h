// softmax_pool ISA kernels (optimized/avx512/softmax_pool.cc, optimized/avx2/softmax_pool.cc).
//
// Per column, the reference's steps in the same order: mx = fmax over q of z_q in binary32
// (from -FLT_MAX, NaN ignored); then for q = 0..M-1: x = z_q - mx (binary32), e = exp(x)
// (binary32, below), and the two sums in binary32 (spec §7.4 "Reduction (fp32, ...)"), in
// position order and in blocks of kPoolBlock = 8 positions: per block, fresh partials
// sd = Σ e, sa = Σ fma(e, v_q, sa) in position order, then den = den ⊕ sd, acc = acc ⊕ sa in
// block order (the first block's partials are the totals); pooled = acc ⊘ den (binary32).
// A window of <= 8 positions (CSA: current p = 0..M-1, then previous p = 0..M-1) is one block,
// exactly the spec's sequential fp32 order. Longer windows (HCA, M = 128) need the blocks: a
// sequential binary32 sum of 128 terms measured up to 21.9·2^-24·Σw|v| from the binary64
// value (random data as the catalog's, 262144 columns; 2 columns broke the K5 contract's
// 16·2^-24·Σw|v| + 2 ulp), blocks of 8 at most 7.7 units (no failure), the same as a CSA
// window, whose 8-term sequential sum measured at most 7.7 too (0 failures in 2·10^6 columns).
// When the logits are given as score + bias rows (the K5 window), z_q = score_q ⊕ bias_q is
// computed here (one binary32 add, score BF16 widened exactly), in pass 1 and again in pass 2
// (or kept in registers): the same bits either way.
// Columns are SIMD lanes and every lane runs the same instruction sequence whatever its
// position in a vector, so column strips (cols_per_cta) and the thread count never change a
// bit, and the AVX2 and AVX-512 variants give identical bits (their exp is the same sequence
// of IEEE operations; see below).
//
// exp: k = rint(x·16/ln2) (one FMA of x·log2e onto 1.5·2^19, whose low bits then hold k and which
// less 1.5·2^19 is k/16 exactly), r = x - k·ln2/16
// (two-constant Cody-Waite with FMA, |r| <= 0.0217), e^r - 1 by the degree-3 Taylor polynomial
// r + r²/2 + r³/6 (truncation < 0.16 ulp), m = T + T·(e^r - 1) with one rounding, T = 2^((k mod
// 16)/16) from a 16-entry binary32 table (vpermps; AVX2: two vpermps and a blend), then m·2^
// floor(k/16) scaled with one rounding (AVX-512 vscalefps; AVX2 (m·2^(n>>1))·2^(n - (n>>1)), of
// which the first product is exact), so subnormal results round once. x is clamped to
// [-104, 88.75] first (NaN passes through): below -103.98 the result rounds to +0, above
// 88.73 to +inf. Documented bound: <= 2 ulp of binary32 over the whole float range, normal and
// subnormal results alike; measured by tests/simd_exp_test.cc against binary64 exp on its
// 7.8e7-input sweep: max 1.0685 ulp (at x = -0.541652322), AVX2 and AVX-512 bit-identical.
// (The earlier degree-7 polynomial without table cost 2 more FMAs per vector.)
#pragma once

#include <cstdint>

#include "kcs/cpu.h"

namespace kcs::opt {

constexpr int64_t kPoolBlock = 8;  // positions per binary32 partial sum

// One block's window: M row pointers for the logits and the values (fp32 or BF16), each indexed
// by column. The logits are either fp32 rows z, or (score != nullptr) score rows (fp32 or BF16)
// plus fp32 bias rows: z_q[c] = score_q[c] ⊕ bias_q[c]. The K5 fused kernel points them into its
// projection / state buffers and its ape.
struct PoolWindow {
  int64_t M = 0;
  const float* const* z = nullptr;
  const void* const* score = nullptr;
  bool score_bf16 = false;
  const float* const* bias = nullptr;
  const void* const* v = nullptr;
  bool v_bf16 = false;
};

// out[c] = pooled value of column c, for c in [c0, c1).
void softmax_pool_cols_avx512(const PoolWindow& w, int64_t c0, int64_t c1, float* out);
void softmax_pool_cols_avx2(const PoolWindow& w, int64_t c0, int64_t c1, float* out);

// A whole call on dense windows logits / values [n_blocks, M, C] -> out [n_blocks, C]: work items
// (block, strip of cols_per_cta columns; <= 0 or > C = all columns) spread over `threads`.
void softmax_pool_run(const float* logits, const void* values, bool v_bf16, int64_t n_blocks, int64_t M, int64_t C,
                      float* out, Isa isa, int threads, int64_t cols_per_cta);

// The kernels' vector exp on an array (tests and benches): y[i] = exp(x[i]).
void exp_f32_avx512(const float* x, float* y, int64_t n);
void exp_f32_avx2(const float* x, float* y, int64_t n);

// ISA variants, best first (optimized/variants.h).
struct SoftmaxPoolVariant {
  Isa isa;
  decltype(&softmax_pool_cols_avx2) cols;
  decltype(&exp_f32_avx2) exp;
};
inline constexpr SoftmaxPoolVariant kSoftmaxPoolVariants[] = {
    {Isa::avx512, &softmax_pool_cols_avx512, &exp_f32_avx512},
    {Isa::avx2, &softmax_pool_cols_avx2, &exp_f32_avx2},
};

}  // namespace kcs::opt
