// RoPE (spec §1.3), AVX-512 F/BW/VL. The binary32 formulas are in optimized/rope.h; every
// element is computed exactly as there, so the AVX2 file and a scalar binary32 emulation give
// the same bits.
//
// Per head, 16 values of each rope half per step:
//   R-HALF: xa = x[j..j+16), xb = x[h+j..) (two masked BF16 loads, widened by a shift);
//   R-V2 / R-PAIR: 16 (even, odd) BF16 pairs are one 512-bit load of 16 dwords: the even element
//           is the low word (<< 16 widens it), the odd one the high word (& 0xFFFF0000), which is
//           the de-interleave for free.
// R-HALF / R-V2 store y_lo at j and y_hi at h + j (v2 leaves the output de-interleaved); R-PAIR
// re-interleaves by packing (bf16(y_odd) << 16) | bf16(y_even) into one dword store.
// −x is a sign flip (exactly the source's x * −1.0); "x1 + 0.0" is an add of +0.
// The per-token table row is re-read by every head from L1 (R-3D broadcast).
//
// Like the other ISA files, this one calls no inline helper of the kcs headers.
#include <cstdint>
#include <cstring>

#include "optimized/avx512/simd.h"
#include "optimized/rope.h"

namespace kcs::opt {

namespace {

inline __m512 widen_lo(__m512i dw) { return _mm512_castsi512_ps(_mm512_slli_epi32(dw, 16)); }
inline __m512 widen_hi(__m512i dw) {
  return _mm512_castsi512_ps(_mm512_and_si512(dw, _mm512_set1_epi32(static_cast<int>(0xFFFF0000u))));
}

// 16 table values from column `col` of a table row (BF16 widened, or FP32).
template <bool kF32>
inline __m512 load_table(const void* row, int64_t col, __mmask16 k) {
  if (kF32) return _mm512_maskz_loadu_ps(k, static_cast<const float*>(row) + col);
  return load_bf16(static_cast<const uint16_t*>(row) + col, k);
}

inline __m512 neg(__m512 v) {
  return _mm512_castsi512_ps(_mm512_xor_si512(_mm512_castps_si512(v), _mm512_set1_epi32(INT32_MIN)));
}

// R-HALF (kV2: on the de-interleaved slice) of one head's slice x -> y.
template <bool kV2, bool kF32>
void rope_half(const uint16_t* x, uint16_t* y, int64_t h, const void* crow, const void* srow, int64_t hi_col) {
  const __m512 zero = _mm512_setzero_ps();
  for (int64_t j = 0; j < h; j += 16) {
    const __mmask16 k = lanes16(h - j);
    __m512 xa, xb;
    if (kV2) {
      const __m512i dw = _mm512_maskz_loadu_epi32(k, x + 2 * j);
      xa = widen_lo(dw);
      xb = widen_hi(dw);
    } else {
      xa = load_bf16(x + j, k);
      xb = load_bf16(x + h + j, k);
    }
    const __m512 c_lo = load_table<kF32>(crow, j, k), s_lo = load_table<kF32>(srow, j, k);
    const __m512 c_hi = load_table<kF32>(crow, hi_col + j, k), s_hi = load_table<kF32>(srow, hi_col + j, k);
    const __m512 y_lo = _mm512_add_ps(_mm512_mul_ps(xa, c_lo), _mm512_mul_ps(neg(xb), s_lo));
    const __m512 y_hi = _mm512_add_ps(_mm512_mul_ps(xb, c_hi), _mm512_mul_ps(_mm512_add_ps(xa, zero), s_hi));
    store_bf16(y + j, y_lo, k);
    store_bf16(y + h + j, y_hi, k);
  }
}

template <bool kF32>
void rope_pair(const uint16_t* x, uint16_t* y, int64_t h, const void* crow, const void* srow) {
  for (int64_t p = 0; p < h; p += 16) {
    const __mmask16 k = lanes16(h - p);
    const __m512i dw = _mm512_maskz_loadu_epi32(k, x + 2 * p);
    const __m512 e = widen_lo(dw), o = widen_hi(dw);
    const __m512 c = load_table<kF32>(crow, p, k), s = load_table<kF32>(srow, p, k);
    const __m512 ye = _mm512_sub_ps(_mm512_mul_ps(e, c), _mm512_mul_ps(o, s));
    const __m512 yo = _mm512_add_ps(_mm512_mul_ps(e, s), _mm512_mul_ps(o, c));
    const __m512i packed = _mm512_or_si512(round_bf16(ye), _mm512_slli_epi32(round_bf16(yo), 16));
    _mm512_mask_storeu_epi32(y + 2 * p, k, packed);
  }
}

}  // namespace
}  // namespace kcs::opt

#include "optimized/rope-inl.h"
