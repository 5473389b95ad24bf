// Gated softmax pooling (spec §1.5 column kernels), the ISA-neutral body of
// optimized/avx512/softmax_pool.cc and optimized/avx2/softmax_pool.cc, as softmax_pool_cols_<isa>
// and exp_f32_<isa>: kLanes columns per vector, two vectors per step, the M loop inside (two
// passes: max, then exp and binary32 sums), masked column tails. Each ISA file first includes
// its optimized/<isa>/exp.h (exp_v).
#pragma once

#include <cstdint>

#include "optimized/softmax_pool.h"
#include "optimized/softmax_pool_consts.h"

namespace kcs::opt {
namespace {

// With 32 vector registers, windows of <= 8 positions keep their logits in registers between the
// passes; otherwise pass 2 computes them again (the same binary32 add, so the same bits).
constexpr bool kPoolKeepLogits = kVecRegs >= 32;

// Row elements [c, c + r), widened exactly to fp32.
template <bool kBf16>
inline VF load_row(const void* row, int64_t c, int64_t r) {
  if constexpr (kBf16) return loadn_bf16(static_cast<const uint16_t*>(row) + c, r);
  return loadn_f32(static_cast<const float*>(row) + c, r);
}

// How the logits are given: fp32 rows (z), or score rows (fp32 / BF16) plus bias rows.
enum class Logits { f32, score_f32, score_bf16 };

template <Logits kZ>
inline VF load_logit(const PoolWindow& w, int64_t q, int64_t c, int64_t r) {
  if constexpr (kZ == Logits::f32) return loadn_f32(w.z[q] + c, r);
  return add_f(load_row<kZ == Logits::score_bf16>(w.score[q], c, r), loadn_f32(w.bias[q] + c, r));
}

// kVec vectors from column c; `rlast` columns exist in the last one. kW > 0: the window has
// exactly kW <= kPoolBlock positions and its logits stay in registers.
template <Logits kZ, bool kBf16, int kVec, int kW>
void pool_chunk(const PoolWindow& w, int64_t c, int64_t rlast, float* out) {
  const int64_t M = kW > 0 ? kW : w.M;
  VF mx[kVec], den[kVec], acc[kVec];
  VF zr[kW > 0 ? kW : 1][kVec];
  int64_t r[kVec];
  for (int j = 0; j < kVec; ++j) {
    r[j] = j == kVec - 1 ? rlast : kLanes;
    mx[j] = set1_f(kNegFill);
  }
  // Pass 1: fmax from -FLT_MAX; max(z, mx) returns mx for a NaN z, so NaN logits are skipped.
  for (int64_t q = 0; q < M; ++q)
    for (int j = 0; j < kVec; ++j) {
      const VF z = load_logit<kZ>(w, q, c + kLanes * j, r[j]);
      if constexpr (kW > 0) zr[q][j] = z;
      mx[j] = max_f(z, mx[j]);
    }
  // Pass 2 in position order, in blocks of kPoolBlock positions: each block sums into fresh
  // binary32 partials (sd, sa), which are then added to the running totals in block order.
  for (int64_t q0 = 0; q0 < M; q0 += kPoolBlock) {
    const int64_t q1 = q0 + kPoolBlock < M ? q0 + kPoolBlock : M;
    VF sd[kVec], sa[kVec];
    for (int j = 0; j < kVec; ++j) sd[j] = sa[j] = zero_f();
    for (int64_t q = q0; q < q1; ++q)
      for (int j = 0; j < kVec; ++j) {
        VF z;
        if constexpr (kW > 0)
          z = zr[q][j];
        else
          z = load_logit<kZ>(w, q, c + kLanes * j, r[j]);
        const VF e = exp_v<false>(sub_f(z, mx[j]));
        sd[j] = add_f(sd[j], e);
        sa[j] = fmadd_f(e, load_row<kBf16>(w.v[q], c + kLanes * j, r[j]), sa[j]);
      }
    for (int j = 0; j < kVec; ++j) {
      den[j] = q0 == 0 ? sd[j] : add_f(den[j], sd[j]);
      acc[j] = q0 == 0 ? sa[j] : add_f(acc[j], sa[j]);
    }
  }
  for (int j = 0; j < kVec; ++j) storen_f32(out + c + kLanes * j, div_f(acc[j], den[j]), r[j]);
}

template <Logits kZ, bool kBf16, int kW>
void pool_cols(const PoolWindow& w, int64_t c0, int64_t c1, float* out) {
  int64_t c = c0;
  for (; c + 2 * kLanes <= c1; c += 2 * kLanes) pool_chunk<kZ, kBf16, 2, kW>(w, c, kLanes, out);
  for (; c < c1; c += kLanes) pool_chunk<kZ, kBf16, 1, kW>(w, c, min64(c1 - c, kLanes), out);
}

template <Logits kZ, bool kBf16>
void pool_cols_v(const PoolWindow& w, int64_t c0, int64_t c1, float* out) {
  if (kPoolKeepLogits && w.M == 8)
    pool_cols<kZ, kBf16, kPoolKeepLogits ? 8 : 0>(w, c0, c1, out);
  else if (kPoolKeepLogits && w.M == 4)
    pool_cols<kZ, kBf16, kPoolKeepLogits ? 4 : 0>(w, c0, c1, out);
  else
    pool_cols<kZ, kBf16, 0>(w, c0, c1, out);
}

template <Logits kZ>
void pool_dispatch_v(const PoolWindow& w, int64_t c0, int64_t c1, float* out) {
  if (w.v_bf16)
    pool_cols_v<kZ, true>(w, c0, c1, out);
  else
    pool_cols_v<kZ, false>(w, c0, c1, out);
}

}  // namespace

void KCS_ISA_FN(softmax_pool_cols)(const PoolWindow& w, int64_t c0, int64_t c1, float* out) {
  if (c0 >= c1) return;
  if (w.M <= 0) {  // no position: 0 / 0
    for (int64_t c = c0; c < c1; ++c) out[c] = __builtin_nanf("");
    return;
  }
  if (w.score == nullptr)
    pool_dispatch_v<Logits::f32>(w, c0, c1, out);
  else if (w.score_bf16)
    pool_dispatch_v<Logits::score_bf16>(w, c0, c1, out);
  else
    pool_dispatch_v<Logits::score_f32>(w, c0, c1, out);
}

void KCS_ISA_FN(exp_f32)(const float* x, float* y, int64_t n) {
  for_lanes(n, [&](int64_t i, int64_t r) { storen_f32(y + i, exp_v<true>(loadn_f32(x + i, r)), r); });
}

}  // namespace kcs::opt
