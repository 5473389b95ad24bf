// BF16 GEMM micro-kernels, AVX-512 (F/BW/VL + AVX512_BF16). What they compute is defined in
// optimized/gemm_bf16.h: per output element one binary32 chain of fused multiply-adds over K
// pairs, odd element first (the SDM definition of vdpbf16ps).
//
// Three micro-kernels give those same bits (fma, wide, the epilogue and the row store are
// optimized/gemm_bf16-inl.h, shared with the AVX2 file):
//   dot   vdpbf16ps, up to 6 rows x 4 strips (64 columns) of accumulators (24 zmm; 4 W loads and
//         6 broadcasts per 24 vdpbf16ps): one instruction does a pair's two FMAs for 16 columns.
//         DAZ / FTZ: the adapter calls it only for rows where neither can act (the rule in
//         gemm_bf16.h), or when a test forces it. W prefetched ahead in decode-sized calls.
//   fma   the same chain as two vfmadd231ps per pair on BF16 widened to fp32 (IEEE subnormals
//         kept, MXCSR untouched); wide: the same on A widened beforehand (gemm_bf16_widen_avx512).
// Like every ISA file, this one calls no inline helper of the kcs headers (optimized/simd_scalar.h).
#include <cstdint>

#include "optimized/avx512/simd.h"
#include "optimized/gemm_bf16-inl.h"

namespace kcs::opt {

namespace {

constexpr int64_t kPrefetchPairs = 16;  // 1 KiB ahead per strip

template <int MR, int NS>
void micro_dot(const Bf16Micro& m) {
  VF acc[MR][NS];
  start(m, acc);
  const uint32_t* w = m.w;
  const int64_t ws = m.w_strip_stride;
  const int64_t np = m.kc >> 1;
  // Pair p of every row (a_of: a_pair, or a_half for the half pair of an odd panel).
  const auto pair = [&](int64_t p, auto a_of) __attribute__((always_inline)) {
    __m512bh wv[NS];
#pragma GCC unroll 4
    for (int j = 0; j < NS; ++j) wv[j] = (__m512bh)loadv_u32(w + j * ws + p * 16);
#pragma GCC unroll 12
    for (int r = 0; r < MR; ++r) {
      const __m512bh av = (__m512bh)set1_u32(a_of(m.a[r], p));
#pragma GCC unroll 4
      for (int j = 0; j < NS; ++j) acc[r][j] = _mm512_dpbf16_ps(acc[r][j], wv[j], av);
    }
  };
  for (int64_t p = 0; p < np; ++p) {
    if (m.prefetch) {
      // W streams from DRAM here (the driver says so). Ask for each strip's line kPrefetchPairs
      // ahead; near the panel's end, for the same line of the strips the next call reads (the
      // next strip group, whose strips follow these ones). Prefetches are hints: addresses past
      // the weights are harmless.
      const int64_t q = p + kPrefetchPairs;
      const uint32_t* pf = q < np ? w + q * 16 : w + NS * ws + (q - np) * 16;
#pragma GCC unroll 4
      for (int j = 0; j < NS; ++j) prefetch_l1(pf + j * ws);
    }
    pair(p, a_pair);
  }
  if (m.kc & 1) pair(np, a_half);
  finish<MR, NS>(m, acc);
}

using MicroFn = void (*)(const Bf16Micro&);

// Every shape up to the largest the driver uses, instantiated where it fits the registers.
constexpr int kTableMr = 12, kTableNs = 4;
static_assert(kBf16DotMaxMr <= kTableMr && kBf16DotMaxNs <= kTableNs, "dot table too small");
template <int MR, int NS>
constexpr MicroFn dot_fn() {
  if constexpr (MR * NS <= 28)
    return &micro_dot<MR, NS>;
  else
    return nullptr;
}
#define KCS_DOT_ROW(r) {dot_fn<r, 1>(), dot_fn<r, 2>(), dot_fn<r, 3>(), dot_fn<r, 4>()}
constexpr MicroFn kDot[kTableMr][kTableNs] = {KCS_DOT_ROW(1), KCS_DOT_ROW(2),  KCS_DOT_ROW(3),  KCS_DOT_ROW(4),
                                              KCS_DOT_ROW(5), KCS_DOT_ROW(6),  KCS_DOT_ROW(7),  KCS_DOT_ROW(8),
                                              KCS_DOT_ROW(9), KCS_DOT_ROW(10), KCS_DOT_ROW(11), KCS_DOT_ROW(12)};
#undef KCS_DOT_ROW
constexpr MicroFn kFma[kBf16FmaMaxMr512][kBf16FmaMaxNs512] = {{&micro_fma<1, 1>, &micro_fma<1, 2>},
                                                              {&micro_fma<2, 1>, &micro_fma<2, 2>},
                                                              {&micro_fma<3, 1>, &micro_fma<3, 2>},
                                                              {&micro_fma<4, 1>, &micro_fma<4, 2>}};

#define KCS_WIDE_ROW(r) {&micro_wide<r, 1>, &micro_wide<r, 2>, &micro_wide<r, 3>}
constexpr MicroFn kWide[kBf16WideMaxMr][kBf16WideMaxNs] = {KCS_WIDE_ROW(1), KCS_WIDE_ROW(2), KCS_WIDE_ROW(3),
                                                           KCS_WIDE_ROW(4), KCS_WIDE_ROW(5), KCS_WIDE_ROW(6),
                                                           KCS_WIDE_ROW(7), KCS_WIDE_ROW(8)};
#undef KCS_WIDE_ROW
static_assert(kBf16WideMaxMr == 8 && kBf16WideMaxNs == 3, "kWide lists every shape");

}  // namespace

void gemm_bf16_micro_avx512(bool dot, int mr, int ns, const Bf16Micro& m) {
  if (dot)
    kDot[mr - 1][ns - 1](m);
  else
    kFma[mr - 1][ns - 1](m);
}

void gemm_bf16_micro_wide_avx512(int mr, int ns, const Bf16Micro& m) { kWide[mr - 1][ns - 1](m); }

void gemm_bf16_widen_avx512(const uint16_t* a, int64_t kc, float* odd, float* even) {
  const int64_t np = kc >> 1;
  for_lanes(np, [&](int64_t p, int64_t r) {
    const VI d = loadn_u32(a + 2 * p, r);
    storen_f32(odd + p, widen_hi(d), r);
    storen_f32(even + p, widen_lo(d), r);
  });
  if (kc & 1) {  // the half pair: odd element +0
    odd[np] = 0.0f;
    even[np] = float_of(uint32_t{a[2 * np]} << 16);
  }
}

bool gemm_bf16_dot_slow_avx512() {
  // 16 independent chains of each instruction (enough for latency x throughput on Zen 4 and
  // Sapphire Rapids), timed with the TSC. vdpbf16ps does a pair's two FMAs: it wins while it
  // costs less than ~1.5 FMAs (Zen 4: about one; measured 4 on a Sapphire Rapids VM).
  constexpr int kChains = 16;
  constexpr int64_t kIters = 4096;
  __m512 f[kChains], d[kChains];
  for (int k = 0; k < kChains; ++k) f[k] = d[k] = _mm512_set1_ps(static_cast<float>(k));
  const __m512 x = _mm512_set1_ps(0.999f), y = _mm512_set1_ps(0.001f);
  const __m512bh h = _mm512_cvtne2ps_pbh(_mm512_set1_ps(0x1p-5f), _mm512_set1_ps(0x1p-5f));
  uint64_t best_f = ~uint64_t{0}, best_d = ~uint64_t{0};
  for (int rep = 0; rep < 3; ++rep) {  // the fastest of 3: preemption only adds time
    uint64_t t0 = __rdtsc();
    for (int64_t i = 0; i < kIters; ++i) {
#pragma GCC unroll 16
      for (int k = 0; k < kChains; ++k) f[k] = _mm512_fmadd_ps(f[k], x, y);
    }
    uint64_t t1 = __rdtsc();
    if (t1 - t0 < best_f) best_f = t1 - t0;
    t0 = __rdtsc();
    for (int64_t i = 0; i < kIters; ++i) {
#pragma GCC unroll 16
      for (int k = 0; k < kChains; ++k) d[k] = _mm512_dpbf16_ps(d[k], h, h);
    }
    t1 = __rdtsc();
    if (t1 - t0 < best_d) best_d = t1 - t0;
  }
  __m512 s = _mm512_setzero_ps();
  for (int k = 0; k < kChains; ++k) s = _mm512_add_ps(s, _mm512_add_ps(f[k], d[k]));
  volatile float sink = _mm512_reduce_add_ps(s);
  (void)sink;
  return 2 * best_d > 3 * best_f;
}

}  // namespace kcs::opt
