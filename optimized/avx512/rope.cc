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
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop

#include <cstdint>
#include <cstring>

#include "optimized/rope.h"

namespace kcs::opt {

namespace {

inline __mmask16 lanes16(int64_t r) {
  if (r <= 0) return 0;
  return r >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << r) - 1u);
}

inline __m512 widen_lo(__m512i dw) { return _mm512_castsi512_ps(_mm512_slli_epi32(dw, 16)); }
inline __m512 widen_hi(__m512i dw) {
  return _mm512_castsi512_ps(_mm512_and_si512(dw, _mm512_set1_epi32(static_cast<int>(0xFFFF0000u))));
}

inline __m512 load_bf16(const uint16_t* p, __mmask16 k) {
  return widen_lo(_mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(k, p)));
}

// 16 table values from column `col` of a table row (BF16 widened, or FP32).
template <bool kF32>
inline __m512 load_table(const void* row, int64_t col, __mmask16 k) {
  if (kF32) return _mm512_maskz_loadu_ps(k, static_cast<const float*>(row) + col);
  return load_bf16(static_cast<const uint16_t*>(row) + col, k);
}

// BF16 round to nearest even (integer rounding, subnormals kept, NaN -> sign|0x7FC0), the result
// in the low word of each dword.
inline __m512i round_bf16(__m512 v) {
  const __m512i u = _mm512_castps_si512(v);
  const __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(1));
  const __m512i r = _mm512_srli_epi32(_mm512_add_epi32(u, _mm512_add_epi32(lsb, _mm512_set1_epi32(0x7FFF))), 16);
  const __mmask16 nan =
      _mm512_cmpgt_epu32_mask(_mm512_and_si512(u, _mm512_set1_epi32(0x7FFFFFFF)), _mm512_set1_epi32(0x7F800000));
  const __m512i qnan =
      _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(0x8000)), _mm512_set1_epi32(0x7FC0));
  return _mm512_mask_blend_epi32(nan, r, qnan);
}

inline void store_bf16(uint16_t* p, __m512 v, __mmask16 k) {
  _mm256_mask_storeu_epi16(p, k, _mm512_cvtepi32_epi16(round_bf16(v)));
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

template <bool kF32>
void rope_slice(const RopeArgs& a, const uint16_t* x, uint16_t* y, const void* crow, const void* srow) {
  const int64_t h = a.R / 2;
  // R-HALF's second half reads column h + j of a full table, column j of a half table.
  const int64_t hi_col = a.half_table ? 0 : h;
  switch (a.mode) {
    case RopeMode::half: rope_half<false, kF32>(x, y, h, crow, srow, hi_col); break;
    case RopeMode::v2: rope_half<true, kF32>(x, y, h, crow, srow, hi_col); break;
    case RopeMode::pair: rope_pair<kF32>(x, y, h, crow, srow); break;
  }
}

}  // namespace

void rope_tokens_avx512(const RopeArgs& a, int64_t begin, int64_t end) {
  const int64_t W = a.half_table ? a.R / 2 : a.R;
  const size_t tsize = a.table_f32 ? 4 : 2;
  const int64_t xh = a.x_head ? a.x_head : a.D, xt = a.x_tok ? a.x_tok : a.H * a.D;
  const int64_t yh = a.y_head ? a.y_head : a.D, yt = a.y_tok ? a.y_tok : a.H * a.D;
  for (int64_t t = begin; t < end; ++t) {
    const size_t row = static_cast<size_t>(t * W) * tsize;
    const void* crow = static_cast<const char*>(a.cos) + row;
    const void* srow = static_cast<const char*>(a.sin) + row;
    for (int64_t hd = 0; hd < a.H; ++hd) {
      const uint16_t* x = a.x + t * xt + hd * xh;
      uint16_t* y = a.y + t * yt + hd * yh;
      // Pass-through columns: [0, off) and [off + R, D).
      if (a.off > 0) std::memcpy(y, x, static_cast<size_t>(a.off) * sizeof(uint16_t));
      const int64_t after = a.D - a.off - a.R;
      if (after > 0) std::memcpy(y + a.off + a.R, x + a.off + a.R, static_cast<size_t>(after) * sizeof(uint16_t));
      if (a.table_f32)
        rope_slice<true>(a, x + a.off, y + a.off, crow, srow);
      else
        rope_slice<false>(a, x + a.off, y + a.off, crow, srow);
    }
  }
}

}  // namespace kcs::opt
