// BF16 GEMM micro-kernels, AVX-512 (F/BW/VL + AVX512_BF16). What they compute is defined in
// optimized/gemm_bf16.h: per output element one binary32 chain of fused multiply-adds over K
// pairs, odd element first (the SDM definition of vdpbf16ps).
//
// Two micro-kernels give those same bits (the fma one, the epilogue and the row store are
// optimized/gemm_bf16-inl.h, shared with the AVX2 file):
//   dot  vdpbf16ps, up to 6 rows x 4 strips (64 columns) of accumulators (24 zmm; 4 W loads and
//        6 broadcasts per 24 vdpbf16ps). One instruction does a pair's two FMAs for 16 columns.
//        DAZ / FTZ: the adapter calls it only for rows where neither can act (the rule in
//        gemm_bf16.h), or when a test forces it.
//   fma  the same chain written as two vfmadd231ps per pair on BF16 widened to fp32. IEEE
//        subnormals kept (MXCSR untouched).
// A is read straight from its rows (one dword broadcast per row and pair); W from the packed
// strips with aligned loads, prefetched ahead in decode-sized calls. An odd panel ends with a
// half pair whose missing element is zero, so nothing past a row of A is read.
//
// Like every ISA file, this one calls no inline helper of the kcs headers (an out-of-line copy
// compiled here with AVX-512 could be the one the linker keeps); helpers are in an anonymous
// namespace. GCC 12's intrinsic headers trip -Wuninitialized (PR 105593), silenced around them.
#include <cstdint>

#include "optimized/avx512/simd.h"
#include "optimized/gemm_bf16-inl.h"

namespace kcs::opt {

namespace {

constexpr int64_t kPrefetchPairs = 16;  // 1 KiB ahead per strip

template <int MR, int NS>
void micro_dot(const Bf16Micro& m) {
  __m512 acc[MR][NS];
  const uint16_t* a[MR];
#pragma GCC unroll 12
  for (int r = 0; r < MR; ++r) a[r] = m.a[r];
  if (m.mode == Bf16Mode::chain) {
#pragma GCC unroll 12
    for (int r = 0; r < MR; ++r)
#pragma GCC unroll 4
      for (int j = 0; j < NS; ++j) acc[r][j] = _mm512_loadu_ps(m.c[r] + 16 * j);
  } else {
#pragma GCC unroll 12
    for (int r = 0; r < MR; ++r)
#pragma GCC unroll 4
      for (int j = 0; j < NS; ++j) acc[r][j] = _mm512_setzero_ps();
  }
  const uint32_t* w = m.w;
  const int64_t ws = m.w_strip_stride;
  const int64_t np = m.kc >> 1;
  for (int64_t p = 0; p < np; ++p) {
    __m512bh wv[NS];
    if (m.prefetch) {
      // W streams from DRAM here (the driver says so). Ask for each strip's line kPrefetchPairs
      // ahead; near the panel's end, for the same line of the strips the next call reads (the
      // next strip group, whose strips follow these ones). Prefetches are hints: addresses past
      // the weights are harmless.
      const int64_t q = p + kPrefetchPairs;
      const uint32_t* pf = q < np ? w + q * 16 : w + NS * ws + (q - np) * 16;
#pragma GCC unroll 4
      for (int j = 0; j < NS; ++j) _mm_prefetch(reinterpret_cast<const char*>(pf + j * ws), _MM_HINT_T0);
    }
#pragma GCC unroll 4
    for (int j = 0; j < NS; ++j) wv[j] = (__m512bh)_mm512_load_si512(w + j * ws + p * 16);
#pragma GCC unroll 12
    for (int r = 0; r < MR; ++r) {
      const __m512bh av = (__m512bh)_mm512_set1_epi32(static_cast<int>(a_pair(a[r], p)));
#pragma GCC unroll 4
      for (int j = 0; j < NS; ++j) acc[r][j] = _mm512_dpbf16_ps(acc[r][j], wv[j], av);
    }
  }
  if (m.kc & 1) {
    __m512bh wv[NS];
#pragma GCC unroll 4
    for (int j = 0; j < NS; ++j) wv[j] = (__m512bh)_mm512_load_si512(w + j * ws + np * 16);
#pragma GCC unroll 12
    for (int r = 0; r < MR; ++r) {
      const __m512bh av = (__m512bh)_mm512_set1_epi32(static_cast<int>(a_half(a[r], np)));
#pragma GCC unroll 4
      for (int j = 0; j < NS; ++j) acc[r][j] = _mm512_dpbf16_ps(acc[r][j], wv[j], av);
    }
  }
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

}  // namespace

void gemm_bf16_micro_avx512(bool dot, int mr, int ns, const Bf16Micro& m) {
  if (dot)
    kDot[mr - 1][ns - 1](m);
  else
    kFma[mr - 1][ns - 1](m);
}

}  // namespace kcs::opt
