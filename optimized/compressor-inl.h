// K5 compressor, the ISA-neutral body of optimized/{avx512,avx2}/compressor.cc (operations and
// order: optimized/compressor.h), included after their simd.h and exp.h (exp_v). Pooling: a window
// of <= 8 positions (CSA) keeps its logits in registers (pool_short); a longer one (HCA) runs
// position by position over the strip (pool_long), each row read as one sequential stream. Both
// are softmax_pool's per-column sequence: the bits depend neither on the path, the strip nor the ISA.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <type_traits>

#include "optimized/compressor.h"
#include "optimized/softmax_pool.h"  // kPoolBlock
#include "optimized/softmax_pool_consts.h"

namespace kcs::opt {
namespace {

// 32 zmm hold a window of 8 logits beside the exp's constants, 16 ymm do not (AVX2: pool_long).
constexpr bool kKeepLogits = kLanes == 16;
inline VF swap_pairs(VF v) { return KCS_MM(permute_ps)(v, 0xB1); }  // the two values of each lane pair exchanged

// Columns [c, c + r) of a projection row (BF16 or fp32), widened exactly to binary32.
template <bool kBf16>
inline VF row_load(const void* row, int64_t c, int64_t r) {
  if constexpr (kBf16) return loadn_bf16(static_cast<const uint16_t*>(row) + c, r);
  return loadn_f32(static_cast<const float*>(row) + c, r);
}

// The window of block i: value rows v[q] (the scores follow each at + Ch) and ape rows a[q].
struct Window {
  const char* v[2];  // current half's first token, previous half's first token (or prev_b)
  int64_t stride[2];  // bytes between the tokens of each half
  int64_t M = 0, W = 0;
  const void* val(int64_t q) const { return v[q >= M] + (q >= M ? q - M : q) * stride[q >= M]; }
};

template <bool kBf16>
Window window_of(const CompressorPoolHead& h, int64_t i) {
  constexpr int64_t es = kBf16 ? 2 : 4;
  const int64_t row = (h.csa ? 2 : 1) * 2 * h.Ch * es;
  const char* cur = static_cast<const char*>(h.proj) + (h.start_token + i * h.M) * row;
  Window w{{cur, cur}, {row, row}, h.M, h.M};
  if (h.csa && (i > 0 || h.external_prev)) {  // else the fresh-block padding, which adds nothing
    w.W = 2 * h.M;
    w.v[1] = i > 0 ? cur - h.M * row + 2 * h.Ch * es : static_cast<const char*>(h.prev);
    w.stride[1] = i > 0 ? row : 2 * h.Ch * es;
  }
  return w;
}

// Software prefetch of the line at column c of the values and scores of positions [q0, q1) of w:
// the hardware prefetchers do not run far enough ahead on these many short row streams.
template <bool kBf16>
inline void prefetch_cols(const CompressorPoolHead& h, const Window& w, int64_t q0, int64_t q1, int64_t c) {
  constexpr int64_t es = kBf16 ? 2 : 4;
  for (int64_t q = q0; q < q1; ++q) {
    const char* r = static_cast<const char*>(w.val(q)) + c * es;
    __builtin_prefetch(r, 0, 3);
    __builtin_prefetch(r + h.Ch * es, 0, 3);
  }
}

// e = columns 2i, o = columns 2i + 1 of a0 | a1 and back, out[0, r) (AVX-512 only: kKeepLogits).
template <class V>
inline void split_pairs(V a0, V a1, V& e, V& o) {
  const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  e = _mm512_permutex2var_ps(a0, even, a1);
  o = _mm512_permutex2var_ps(a0, _mm512_add_epi32(even, _mm512_set1_epi32(1)), a1);
}
template <class V>
inline void store_pairs(float* out, V e, V o, int64_t r) {
  const __m512i lo = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
  storen_f32(out, _mm512_permutex2var_ps(e, lo, o), r);
  storen_f32(out + kLanes, _mm512_permutex2var_ps(e, _mm512_add_epi32(lo, _mm512_set1_epi32(8)), o), r - kLanes);
}

// A window of exactly kW <= 8 positions: one partial block, logits in registers, 2·kLanes columns
// per step in two halves; the next half's logits and max are formed between this half's exps.
// kSplit (BF16): 2·kLanes words per row split exactly into even columns (shifted up) and odd ones
// (masked), one op per kLanes values, the ape rows split alike in `ae` (else ae = h.ape, lda = Ch).
// `next` (the next block's window, or null): prefetched a step ahead of use.
template <bool kBf16, bool kSplit, int kW>
void pool_short(const CompressorPoolHead& h, const Window& w, const Window* next, const float* ae, int64_t lda,
                int64_t c0, int64_t c1, float* out) {
  constexpr int64_t es = kBf16 ? 2 : 4;
  const char* v[kW];
  for (int q = 0; q < kW; ++q) v[q] = static_cast<const char*>(w.val(q)) + c0 * es;
  const VI hi = set1_u32(0xFFFF0000u);
  const int64_t n = c1 - c0;
  auto half = [&](const char* p, int64_t j, auto odd) {
    if constexpr (!kSplit) return row_load<kBf16>(p, j + (odd ? kLanes : 0), n - j - (odd ? kLanes : 0));
    const uint16_t* u = reinterpret_cast<const uint16_t*>(p) + j;
    const VI x = n - j >= 2 * kLanes ? loadv_u32(u) : loadn_u16(u, n - j);
    return odd ? as_f(and_i(x, hi)) : as_f(shl_u32<16>(x));
  };
  auto logits = [&](int64_t j, auto odd, VF* z) {
    const int64_t k = j + (odd ? kLanes : 0);
    VF m = set1_f(kNegFill);  // max(z, m) returns m for a NaN z: NaN logits are skipped
    for (int q = 0; q < kW; ++q) {
      z[q] = add_f(half(v[q] + h.Ch * es, j, odd), kSplit ? loadv_f32(ae + q * lda + k) : loadn_f32(ae + q * lda + c0 + k, n - k));
      m = max_f(z[q], m);
    }
    return m;
  };
  auto pooled = [&](int64_t j, auto odd, const VF* z, VF m) {
    VF sd = zero_f(), sa = zero_f();
    for (int q = 0; q < kW; ++q) {
      const VF e = exp_v<false>(sub_f(z[q], m));
      sd = add_f(sd, e);
      sa = fmadd_f(e, half(v[q], j, odd), sa);
    }
    return div_f(sa, sd);
  };
  VF ze[kW], zo[kW];
  VF me = logits(0, std::false_type(), ze);
  for (int64_t j = 0; j < n; j += 2 * kLanes) {
    for (int64_t c = c0 + j; next && c < c0 + j + 2 * kLanes; c += 64 / es) prefetch_cols<kBf16>(h, *next, 0, next->W, c);
    const VF mo = logits(j, std::true_type(), zo);
    const VF pe = pooled(j, std::false_type(), ze, me);
    if (j + 2 * kLanes < n) me = logits(j + 2 * kLanes, std::false_type(), ze);
    const VF po = pooled(j, std::true_type(), zo, mo);
    if constexpr (kSplit) {
      store_pairs(out + c0 + j, pe, po, n - j);
    } else {
      storen_f32(out + c0 + j, pe, n - j);
      storen_f32(out + c0 + j + kLanes, po, n - j - kLanes);
    }
  }
}

// The ape rows [0, rows), columns [c0, c1), split for pool_short: per group of 2·kLanes columns
// from c0, the even columns, then the odd ones (+0 past c1); rows lda floats apart.
template <class V>
void ape_split(const CompressorPoolHead& h, int64_t rows, int64_t c0, int64_t c1, float* ae, int64_t lda) {
  for (int64_t q = 0; q < rows; ++q)
    for (int64_t j = 0; j < c1 - c0; j += 2 * kLanes) {
      const float* a = h.ape + q * h.Ch + c0 + j;
      V e, o;
      split_pairs(loadn_f32(a, c1 - c0 - j), loadn_f32(a + kLanes, c1 - c0 - j - kLanes), e, o);
      storev_f32(ae + q * lda + j, e);
      storev_f32(ae + q * lda + j + kLanes, o);
    }
}

// Any window: position-major passes over the strip (pass 1: the running max in `work`; pass 2:
// per block of kPoolBlock positions and column vector, the partial sums, folded into den / acc in
// `work`), the logits formed again in pass 2 (the same binary32 add, so the same bits; cheaper
// than a logit buffer larger than L1).
template <bool kBf16>
void pool_long(const CompressorPoolHead& h, const Window& w, int64_t c0, int64_t c1, float* out) {
  constexpr int64_t es = kBf16 ? 2 : 4, kAhead = 4;
  const int64_t n = c1 - c0, np = (n + kLanes - 1) / kLanes * kLanes, W = w.W;
  float* mx = h.work;
  float* den = mx + np;
  float* acc = den + np;
  auto logit = [&](int64_t q, const void* row, int64_t j, int64_t r) {  // z = score ⊕ ape
    return add_f(row_load<kBf16>(static_cast<const char*>(row) + h.Ch * es, c0 + j, r), loadn_f32(h.ape + q * h.Ch + c0 + j, r));
  };
  for (int64_t q = 0; q < W; ++q) {
    if (q + kAhead < W)
      for (int64_t c = c0 / (64 / es) * (64 / es); c < c1; c += 64 / es) prefetch_cols<kBf16>(h, w, q + kAhead, q + kAhead + 1, c);
    for_lanes(n, [&](int64_t j, int64_t r) {
      storev_f32(mx + j, max_f(logit(q, w.val(q), j, r), q == 0 ? set1_f(kNegFill) : loadv_f32(mx + j)));
    });
  }
  for (int64_t q0 = 0; q0 < W; q0 += kPoolBlock) {
    const int64_t q1 = q0 + kPoolBlock < W ? q0 + kPoolBlock : W;
    const void* v[kPoolBlock];
    for (int64_t q = q0; q < q1; ++q) v[q - q0] = w.val(q);
    for_lanes(n, [&](int64_t j, int64_t r) {
      const VF m = loadv_f32(mx + j);
      VF sd = zero_f(), sa = zero_f();
      for (int64_t q = q0; q < q1; ++q) {
        const VF e = exp_v<false>(sub_f(logit(q, v[q - q0], j, r), m));
        sd = add_f(sd, e);
        sa = fmadd_f(e, row_load<kBf16>(v[q - q0], c0 + j, r), sa);
      }
      sd = q0 > 0 ? add_f(loadv_f32(den + j), sd) : sd;
      sa = q0 > 0 ? add_f(loadv_f32(acc + j), sa) : sa;
      storev_f32(den + j, sd);
      storev_f32(acc + j, sa);
      if (q1 == W) storen_f32(out + c0 + j, div_f(sa, sd), r);
    });
  }
}

template <bool kBf16>
void pool_blocks(const CompressorPoolHead& h, int64_t b0, int64_t b1, int64_t c0, int64_t c1, int64_t cpc, float* pooled) {
  const int64_t rows = (h.csa ? 2 : 1) * h.M, lda = (c1 - c0 + 2 * kLanes - 1) / (2 * kLanes) * (2 * kLanes);
  float* ae = h.work + 3 * (cpc + 16);
  // The split's groups start at c0, so strips must hold whole groups; a call of a few blocks
  // (decode) does not repay the split.
  const bool split = kKeepLogits && kBf16 && rows <= 8 && b1 - b0 >= 4 && (cpc == c1 - c0 || cpc % (2 * kLanes) == 0);
  if constexpr (kKeepLogits && kBf16)
    if (split) ape_split<VF>(h, rows, c0, c1, ae, lda);
  for (int64_t i = b0; i < b1; ++i) {
    const Window w = window_of<kBf16>(h, i);
    const Window next = window_of<kBf16>(h, i + 1);
    const Window* pn = i + 1 < h.n_blocks ? &next : nullptr;
    float* out = pooled + (i - b0) * h.Ch;
    // Strips inside each block: the rows are read in sequence and the block's lines stay in L1.
    for (int64_t s = c0; s < c1; s += cpc) {
      const int64_t e = s + cpc < c1 ? s + cpc : c1;
      auto short_w = [&](auto sp) {  // sp: split (ape from ae) or not (from h.ape)
        const float* a = sp ? ae + (s - c0) : h.ape;
        w.W == 8 ? pool_short<kBf16, sp, 8>(h, w, pn, a, sp ? lda : h.Ch, s, e, out)
                 : pool_short<kBf16, sp, 4>(h, w, pn, a, sp ? lda : h.Ch, s, e, out);
      };
      if (split && (w.W == 8 || w.W == 4))
        short_w(std::integral_constant<bool, kKeepLogits && kBf16>());
      else if (kKeepLogits && (w.W == 8 || w.W == 4))
        short_w(std::false_type());
      else
        pool_long<kBf16>(h, w, s, e, out);
    }
  }
}

}  // namespace

void KCS_ISA_FN(compressor_pool)(const CompressorPoolHead& h, int64_t b0, int64_t b1, int64_t c0, int64_t c1,
                                 int64_t cpc, float* pooled) {
  if (c0 >= c1 || b0 >= b1 || h.M <= 0) return;
  if (cpc <= 0 || cpc > c1 - c0) cpc = c1 - c0;
  if (h.bf16)
    pool_blocks<true>(h, b0, b1, c0, c1, cpc, pooled);
  else
    pool_blocks<false>(h, b0, b1, c0, c1, cpc, pooled);
}

void KCS_ISA_FN(compressor_fused_row)(const float* x, int64_t n, int64_t nope, const float* cs, const float* sn,
                                      uint16_t* out) {
  for_lanes(nope, [&](int64_t c, int64_t r) { storen_bf16(out + c, loadn_f32(x + c, r), r); });
  // R even: pairs are never split by a vector. Even lanes add the negated swapped product
  // (times −1, exact): y0 = x0·c ⊕ (−(x1·s)) is x0·c ⊖ x1·s exactly.
  alignas(64) static const float kSign[16] = {-1, 1, -1, 1, -1, 1, -1, 1, -1, 1, -1, 1, -1, 1, -1, 1};
  const VF sign = loadv_f32(kSign);
  for_lanes(n - nope, [&](int64_t j, int64_t r) {
    const VF v = loadn_f32(x + nope + j, r);
    const VF p1 = mul_f(v, loadn_f32(cs + j, r));
    const VF p2 = mul_f(mul_f(swap_pairs(v), loadn_f32(sn + j, r)), sign);
    storen_bf16(out + nope + j, add_f(p1, p2), r);
  });
}

void KCS_ISA_FN(compressor_hadamard_rows)(const uint16_t* x, int64_t rows, int64_t n, const uint16_t* H, uint16_t* y) {
  constexpr int kV = 8;  // output vectors per pass
  auto bcast = [](uint16_t b) { return set1_f(float_of(static_cast<uint32_t>(b) << 16)); };
  for (int64_t r = 0; r < rows; ++r) {
    const uint16_t* a = x + r * n;
    for (int64_t j0 = 0; j0 < n; j0 += kLanes * kV) {
      VF acc[kV];
      int64_t m[kV];
      for (int v = 0; v < kV; ++v) {
        acc[v] = zero_f();
        m[v] = n - j0 - kLanes * v;
      }
      for (int64_t p = 0; 2 * p < n; ++p)
        for (const int64_t k : {2 * p + 1, 2 * p}) {  // k = n (odd n): the pad, acc ⊕ 0·0
          const VF ak = bcast(k < n ? a[k] : 0);
          for (int v = 0; v < kV; ++v)
            if (m[v] > 0) acc[v] = fmadd_f(ak, k < n ? loadn_bf16(H + k * n + j0 + kLanes * v, m[v]) : zero_f(), acc[v]);
        }
      for (int v = 0; v < kV; ++v)
        if (m[v] > 0) storer_u16(y + r * n + j0 + kLanes * v, to_bf16_quiet(acc[v]), 0, m[v]);
    }
  }
}

}  // namespace kcs::opt
