// BF16 GEMM micro-kernels, AVX-512 (F/BW/VL + AVX512_BF16). What they compute is defined in
// optimized/gemm_bf16.h: per output element one binary32 chain of fused multiply-adds over K
// pairs, odd element first (the SDM definition of vdpbf16ps).
//
// Two micro-kernels give those same bits:
//   dot  vdpbf16ps, up to 6 rows x 4 strips (64 columns) of accumulators (24 zmm; 4 W loads and
//        6 broadcasts per 24 vdpbf16ps). One instruction does a pair's two FMAs for 16 columns.
//        DAZ / FTZ: the adapter calls it only for rows where neither can act (the rule in
//        gemm_bf16.h), or when a test forces it.
//   fma  the same chain written as two vfmadd231ps per pair on BF16 widened to fp32 (the high
//        half of a packed dword is the odd element as an fp32 with its low bits cleared; the low
//        half shifted left by 16 is the even one). IEEE subnormals kept (MXCSR untouched).
// A is read straight from its rows (one dword broadcast per row and pair); W from the packed
// strips with aligned loads, prefetched ahead in decode-sized calls. An odd panel ends with a
// half pair whose missing element is zero, so nothing past a row of A is read.
//
// The last K panel rounds straight into y. BF16 with integers (u + 0x7FFF + lsb, NaN quietened),
// never vcvtneps2bf16, which flushes subnormals (spec §13); FP16 with vcvtps2ph, nearest even,
// subnormals kept.
//
// Like every ISA file, this one calls no inline helper of the kcs headers (an out-of-line copy
// compiled here with AVX-512 could be the one the linker keeps); helpers are in an anonymous
// namespace. GCC 12's intrinsic headers trip -Wuninitialized (PR 105593), silenced around them.
#include <cstdint>
#include <cstring>

#include "optimized/avx512/simd.h"
#include "optimized/gemm_bf16.h"

namespace kcs::opt {

namespace {

inline __mmask16 low_mask16(int64_t r) { return static_cast<__mmask16>((1u << r) - 1u); }  // r < 16

// Pair p of row r as a dword (even element low), or the half pair of an odd panel.
inline uint32_t a_pair(const uint16_t* row, int64_t p) { return load_u32(row + 2 * p); }
inline uint32_t a_half(const uint16_t* row, int64_t p) { return row[2 * p]; }

// BF16 of 16 binary32 values, nearest even with integers (subnormals kept, overflow to Inf).
inline __m256i to_bf16(__m512 x) {
  const __m512i u = _mm512_castps_si512(x);
  const __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(1));
  __m512i r = _mm512_srli_epi32(_mm512_add_epi32(u, _mm512_add_epi32(lsb, _mm512_set1_epi32(0x7FFF))), 16);
  const __mmask16 nan = _mm512_cmpgt_epu32_mask(_mm512_and_si512(u, _mm512_set1_epi32(0x7FFFFFFF)),
                                                _mm512_set1_epi32(0x7F800000));
  r = _mm512_mask_or_epi32(r, nan, _mm512_srli_epi32(u, 16), _mm512_set1_epi32(0x40));
  return _mm512_cvtepi32_epi16(r);
}


// Lanes [b, e) of a strip, 0 <= b < e <= 16.
inline __mmask16 lane_range(int64_t b, int64_t e) {
  const uint32_t hi = e >= 16 ? 0xFFFFu : (1u << e) - 1u;
  return static_cast<__mmask16>(hi & ~((1u << b) - 1u));
}

// Store 16 results of one strip into y (masked to the tile's columns), rounded to its dtype.
// Whole strips use plain stores: masked stores are much slower on some cores (Zen 4).
inline void put(__m512 v, DType dt, char* row, int64_t col, __mmask16 k) {
  if (dt == DType::fp32) {
    float* p = reinterpret_cast<float*>(row) + col;
    if (k == 0xFFFF)
      _mm512_storeu_ps(p, v);
    else
      _mm512_mask_storeu_ps(p, k, v);
    return;
  }
  const __m256i h =
      dt == DType::bf16 ? to_bf16(v) : _mm512_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  uint16_t* p = reinterpret_cast<uint16_t*>(row) + col;
  if (k == 0xFFFF)
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(p), h);
  else
    _mm256_mask_storeu_epi16(p, k, h);
}

// The result of row r, strip j: to C, or (last panel) into y.
template <int NS>
inline void finish(const Bf16Micro& m, const __mmask16 (&k)[NS], int r, int j, __m512 v) {
  if (m.mode == Bf16Mode::add) v = _mm512_add_ps(_mm512_loadu_ps(m.c[r] + 16 * j), v);
  if (m.out) {
    if (k[j]) put(v, m.out_dtype, m.out[r], m.col0 + 16 * j, k[j]);
  } else {
    _mm512_storeu_ps(m.c[r] + 16 * j, v);
  }
}

// The y lanes of each strip of a micro-tile.
template <int NS>
inline void strip_masks(const Bf16Micro& m, __mmask16 (&k)[NS]) {
  for (int j = 0; j < NS; ++j) {
    const int64_t c = m.col0 + 16 * j;
    const int64_t b = m.lo > c ? m.lo - c : 0, e = m.hi - c < 16 ? m.hi - c : 16;
    k[j] = e > b ? lane_range(b, e) : static_cast<__mmask16>(0);
  }
}

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
  __mmask16 k[NS];
  strip_masks<NS>(m, k);
#pragma GCC unroll 12
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 4
    for (int j = 0; j < NS; ++j) finish<NS>(m, k, r, j, acc[r][j]);
}

// One pair step of the FMA path for one row: odd element first, as vdpbf16ps does.
template <int NS>
inline void fma_pair(__m512 (&acc)[NS], const __m512 (&wo)[NS], const __m512 (&we)[NS], uint32_t pair) {
  const __m512i av = _mm512_set1_epi32(static_cast<int>(pair));
  const __m512 ao = _mm512_castsi512_ps(_mm512_and_si512(av, _mm512_set1_epi32(static_cast<int>(0xFFFF0000u))));
  const __m512 ae = _mm512_castsi512_ps(_mm512_slli_epi32(av, 16));
#pragma GCC unroll 2
  for (int j = 0; j < NS; ++j) acc[j] = _mm512_fmadd_ps(ao, wo[j], acc[j]);
#pragma GCC unroll 2
  for (int j = 0; j < NS; ++j) acc[j] = _mm512_fmadd_ps(ae, we[j], acc[j]);
}

template <int NS>
inline void widen_w(const uint32_t* w, int64_t ws, int64_t p, __m512 (&wo)[NS], __m512 (&we)[NS]) {
  const __m512i hi = _mm512_set1_epi32(static_cast<int>(0xFFFF0000u));
#pragma GCC unroll 2
  for (int j = 0; j < NS; ++j) {
    const __m512i d = _mm512_load_si512(w + j * ws + p * 16);
    wo[j] = _mm512_castsi512_ps(_mm512_and_si512(d, hi));
    we[j] = _mm512_castsi512_ps(_mm512_slli_epi32(d, 16));
  }
}

template <int MR, int NS>
void micro_fma(const Bf16Micro& m) {
  __m512 acc[MR][NS];
  for (int r = 0; r < MR; ++r)
    for (int j = 0; j < NS; ++j)
      acc[r][j] = m.mode == Bf16Mode::chain ? _mm512_loadu_ps(m.c[r] + 16 * j) : _mm512_setzero_ps();
  const int64_t np = m.kc >> 1;
  __m512 wo[NS], we[NS];
  for (int64_t p = 0; p < np; ++p) {
    widen_w<NS>(m.w, m.w_strip_stride, p, wo, we);
#pragma GCC unroll 4
    for (int r = 0; r < MR; ++r) fma_pair<NS>(acc[r], wo, we, a_pair(m.a[r], p));
  }
  if (m.kc & 1) {
    widen_w<NS>(m.w, m.w_strip_stride, np, wo, we);
#pragma GCC unroll 4
    for (int r = 0; r < MR; ++r) fma_pair<NS>(acc[r], wo, we, a_half(m.a[r], np));
  }
  __mmask16 k[NS];
  strip_masks<NS>(m, k);
  for (int r = 0; r < MR; ++r)
    for (int j = 0; j < NS; ++j) finish<NS>(m, k, r, j, acc[r][j]);
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

uint32_t gemm_bf16_min_mag_avx512(const uint16_t* x, int64_t n) {
  // min over (|bits| - 1) as unsigned 16-bit: zeros wrap to 0xFFFF and never win.
  const __m512i abs_mask = _mm512_set1_epi16(0x7FFF), one = _mm512_set1_epi16(1);
  __m512i m0 = _mm512_set1_epi16(-1), m1 = _mm512_set1_epi16(-1);
  int64_t j = 0;
  for (; j + 64 <= n; j += 64) {
    m0 = _mm512_min_epu16(m0, _mm512_sub_epi16(_mm512_and_si512(_mm512_loadu_si512(x + j), abs_mask), one));
    m1 = _mm512_min_epu16(m1, _mm512_sub_epi16(_mm512_and_si512(_mm512_loadu_si512(x + j + 32), abs_mask), one));
  }
  for (; j < n; j += 32) {
    const __mmask32 k = n - j >= 32 ? ~__mmask32{0} : static_cast<__mmask32>((uint32_t{1} << (n - j)) - 1u);
    m0 = _mm512_min_epu16(m0, _mm512_sub_epi16(_mm512_and_si512(_mm512_maskz_loadu_epi16(k, x + j), abs_mask), one));
  }
  m0 = _mm512_min_epu16(m0, m1);
  const __m256i h = _mm256_min_epu16(_mm512_castsi512_si256(m0), _mm512_extracti64x4_epi64(m0, 1));
  __m128i q = _mm_min_epu16(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));
  q = _mm_min_epu16(q, _mm_srli_si128(q, 8));
  q = _mm_min_epu16(q, _mm_srli_si128(q, 4));
  q = _mm_min_epu16(q, _mm_srli_si128(q, 2));
  return static_cast<uint32_t>(_mm_extract_epi16(q, 0)) + 1u;
}

void gemm_bf16_store_row_avx512(const float* c, int64_t n, DType dtype, void* y) {
  for (int64_t j = 0; j < n; j += 16) {
    const __mmask16 k = n - j >= 16 ? static_cast<__mmask16>(0xFFFF) : low_mask16(n - j);
    const __m512 v = _mm512_maskz_loadu_ps(k, c + j);
    if (dtype == DType::fp32) {
      _mm512_mask_storeu_ps(static_cast<float*>(y) + j, k, v);
    } else if (dtype == DType::bf16) {
      _mm256_mask_storeu_epi16(static_cast<uint16_t*>(y) + j, k, to_bf16(v));
    } else {
      _mm256_mask_storeu_epi16(static_cast<uint16_t*>(y) + j, k,
                               _mm512_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    }
  }
}

}  // namespace kcs::opt
