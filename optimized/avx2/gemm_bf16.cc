// BF16 GEMM micro-kernel, AVX2 + FMA + F16C. What it computes is defined in
// optimized/gemm_bf16.h (per output element one binary32 chain of fused multiply-adds over K
// pairs, odd element first); the AVX-512 engine computes the same chains, so both give the same
// bits. BF16 is widened with integer ops: the high half of a packed dword, with its low 16 bits
// cleared, is the odd element as an fp32; the low half shifted left by 16 is the even one.
// 4 rows x 1 strip (16 columns, two ymm) of accumulators: 8 + 4 widened W + 2 broadcast A = 14
// of the 16 ymm registers. IEEE subnormals kept (MXCSR is never touched).
//
// Output rounding: BF16 with integers (nearest even, subnormals kept, NaN quietened); FP16 with
// vcvtps2ph, nearest even. AVX2 has no masked 16-bit stores, so row tails go through a stack
// block. No inline helper of the kcs headers is called here (see optimized/avx512/gemm_bf16.cc).
#include <cstdint>
#include <cstring>

#include "optimized/avx2/simd.h"
#include "optimized/gemm_bf16.h"

namespace kcs::opt {

namespace {

inline void fma_pair(__m256 (&acc)[2], const __m256 (&wo)[2], const __m256 (&we)[2], uint32_t pair) {
  const __m256i av = _mm256_set1_epi32(static_cast<int>(pair));
  const __m256 ao = _mm256_castsi256_ps(_mm256_and_si256(av, _mm256_set1_epi32(static_cast<int>(0xFFFF0000u))));
  const __m256 ae = _mm256_castsi256_ps(_mm256_slli_epi32(av, 16));
  acc[0] = _mm256_fmadd_ps(ao, wo[0], acc[0]);
  acc[1] = _mm256_fmadd_ps(ao, wo[1], acc[1]);
  acc[0] = _mm256_fmadd_ps(ae, we[0], acc[0]);
  acc[1] = _mm256_fmadd_ps(ae, we[1], acc[1]);
}

inline void widen_w(const uint32_t* w, int64_t p, __m256 (&wo)[2], __m256 (&we)[2]) {
  const __m256i hi = _mm256_set1_epi32(static_cast<int>(0xFFFF0000u));
  for (int h = 0; h < 2; ++h) {
    const __m256i d = _mm256_load_si256(reinterpret_cast<const __m256i*>(w + p * 16 + 8 * h));
    wo[h] = _mm256_castsi256_ps(_mm256_and_si256(d, hi));
    we[h] = _mm256_castsi256_ps(_mm256_slli_epi32(d, 16));
  }
}

// BF16 of 8 binary32 values in the low 16 bits of each dword (see the AVX-512 file).
inline __m256i to_bf16_dwords(__m256 x) {
  const __m256i u = _mm256_castps_si256(x);
  const __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(1));
  const __m256i r = _mm256_srli_epi32(_mm256_add_epi32(u, _mm256_add_epi32(lsb, _mm256_set1_epi32(0x7FFF))), 16);
  // NaN: |u| > 0x7F800000 as signed compare is safe, |u| < 2^31.
  const __m256i nan = _mm256_cmpgt_epi32(_mm256_and_si256(u, _mm256_set1_epi32(0x7FFFFFFF)),
                                         _mm256_set1_epi32(0x7F800000));
  const __m256i q = _mm256_or_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(0x40));
  return _mm256_blendv_epi8(r, q, nan);
}

// 8 outputs of a dtype into `out` (16 or 32 bytes).
inline void store8(const float* c, DType dtype, void* out) {
  const __m256 v = _mm256_loadu_ps(c);
  if (dtype == DType::fp32) {
    _mm256_storeu_ps(static_cast<float*>(out), v);
  } else if (dtype == DType::bf16) {
    // Each dword holds < 2^16, so the unsigned-saturating pack is exact; it packs per 128-bit lane.
    const __m256i d = to_bf16_dwords(v);
    const __m256i p = _mm256_permute4x64_epi64(_mm256_packus_epi32(d, d), 0x08);
    _mm_storeu_si128(static_cast<__m128i*>(out), _mm256_castsi256_si128(p));
  } else {
    _mm_storeu_si128(static_cast<__m128i*>(out), _mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
  }
}

// Store the 16 results of one strip (two ymm) into y, columns [b, e) of the strip only.
inline void put_strip(__m256 v0, __m256 v1, DType dt, char* row, int64_t col, int64_t b, int64_t e) {
  const int64_t es = dt == DType::fp32 ? 4 : 2;
  alignas(32) float in[16];
  _mm256_store_ps(in, v0);
  _mm256_store_ps(in + 8, v1);
  if (b == 0 && e == 16) {
    store8(in, dt, row + col * es);
    store8(in + 8, dt, row + (col + 8) * es);
    return;
  }
  alignas(32) char tmp[64];
  store8(in, dt, tmp);
  store8(in + 8, dt, tmp + 8 * es);
  std::memcpy(row + (col + b) * es, tmp + b * es, static_cast<size_t>((e - b) * es));
}

template <int MR>
void micro_fma(const Bf16Micro& m) {
  __m256 acc[MR][2];
  for (int r = 0; r < MR; ++r)
    for (int h = 0; h < 2; ++h)
      acc[r][h] = m.mode == Bf16Mode::chain ? _mm256_loadu_ps(m.c[r] + 8 * h) : _mm256_setzero_ps();
  const uint16_t* a[MR];
  for (int r = 0; r < MR; ++r) a[r] = m.a[r];
  const int64_t np = m.kc >> 1;
  __m256 wo[2], we[2];
  for (int64_t p = 0; p < np; ++p) {
    widen_w(m.w, p, wo, we);
#pragma GCC unroll 4
    for (int r = 0; r < MR; ++r) fma_pair(acc[r], wo, we, load_u32(a[r] + 2 * p));
  }
  if (m.kc & 1) {
    widen_w(m.w, np, wo, we);
#pragma GCC unroll 4
    for (int r = 0; r < MR; ++r) fma_pair(acc[r], wo, we, a[r][2 * np]);
  }
  if (m.mode == Bf16Mode::add)
    for (int r = 0; r < MR; ++r)
      for (int h = 0; h < 2; ++h) acc[r][h] = _mm256_add_ps(_mm256_loadu_ps(m.c[r] + 8 * h), acc[r][h]);
  if (m.out) {
    // The last panel: round into y, the tile's columns of this strip only.
    const int64_t b = m.lo > m.col0 ? m.lo - m.col0 : 0, e = m.hi - m.col0 < 16 ? m.hi - m.col0 : 16;
    if (e > b)
      for (int r = 0; r < MR; ++r) put_strip(acc[r][0], acc[r][1], m.out_dtype, m.out[r], m.col0, b, e);
    return;
  }
  for (int r = 0; r < MR; ++r)
    for (int h = 0; h < 2; ++h) _mm256_storeu_ps(m.c[r] + 8 * h, acc[r][h]);
}

using MicroFn = void (*)(const Bf16Micro&);
constexpr MicroFn kFma[kBf16FmaMaxMr256] = {&micro_fma<1>, &micro_fma<2>, &micro_fma<3>, &micro_fma<4>};

}  // namespace

void gemm_bf16_micro_avx2(int mr, int ns, const Bf16Micro& m) {
  (void)ns;  // one strip per call
  kFma[mr - 1](m);
}

uint32_t gemm_bf16_min_mag_avx2(const uint16_t* x, int64_t n) {
  const __m256i abs_mask = _mm256_set1_epi16(0x7FFF), one = _mm256_set1_epi16(1);
  __m256i m0 = _mm256_set1_epi16(-1), m1 = _mm256_set1_epi16(-1);
  int64_t j = 0;
  for (; j + 32 <= n; j += 32) {
    const __m256i v0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + j));
    const __m256i v1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + j + 16));
    m0 = _mm256_min_epu16(m0, _mm256_sub_epi16(_mm256_and_si256(v0, abs_mask), one));
    m1 = _mm256_min_epu16(m1, _mm256_sub_epi16(_mm256_and_si256(v1, abs_mask), one));
  }
  if (j < n) {
    // The tail in a zero-padded block: zeros wrap to 0xFFFF and never win.
    alignas(32) uint16_t tail[32] = {};
    std::memcpy(tail, x + j, static_cast<size_t>(n - j) * sizeof(uint16_t));
    const __m256i v0 = _mm256_load_si256(reinterpret_cast<const __m256i*>(tail));
    const __m256i v1 = _mm256_load_si256(reinterpret_cast<const __m256i*>(tail + 16));
    m0 = _mm256_min_epu16(m0, _mm256_sub_epi16(_mm256_and_si256(v0, abs_mask), one));
    m1 = _mm256_min_epu16(m1, _mm256_sub_epi16(_mm256_and_si256(v1, abs_mask), one));
  }
  m0 = _mm256_min_epu16(m0, m1);
  __m128i q = _mm_min_epu16(_mm256_castsi256_si128(m0), _mm256_extracti128_si256(m0, 1));
  q = _mm_min_epu16(q, _mm_srli_si128(q, 8));
  q = _mm_min_epu16(q, _mm_srli_si128(q, 4));
  q = _mm_min_epu16(q, _mm_srli_si128(q, 2));
  return static_cast<uint32_t>(_mm_extract_epi16(q, 0)) + 1u;
}

void gemm_bf16_store_row_avx2(const float* c, int64_t n, DType dtype, void* y) {
  const int64_t esize = dtype == DType::fp32 ? 4 : 2;
  char* out = static_cast<char*>(y);
  int64_t j = 0;
  for (; j + 8 <= n; j += 8) store8(c + j, dtype, out + j * esize);
  if (j < n) {
    alignas(32) float in[8] = {};
    alignas(32) char tmp[32];
    std::memcpy(in, c + j, static_cast<size_t>(n - j) * sizeof(float));
    store8(in, dtype, tmp);
    std::memcpy(out + j * esize, tmp, static_cast<size_t>((n - j) * esize));
  }
}

}  // namespace kcs::opt
