// NVFP4 quantizer (spec §6.3), AVX2 + F16C (FMA deliberately unused: w = v * inv is one
// rounding). Bit-identical to nvfp4_row_reference for every input. Same two passes and steps as
// optimized/avx512/nvfp4_quant.cc (see there for the arguments); what differs:
//   * pass 1 does one block (8 groups) per step: the amax tree ends with the 8 maxima in one
//     ymm, so the scale pipeline runs on exactly one register;
//   * codes are made in the byte domain, 32 elements at a time: the keys of min(|w|, 6) are
//     narrowed with vpackusdw / vpsubusw (offset, saturated) / vpackuswb and looked up with two
//     vpshufb per table (there is no vrangeps: the min is an integer min on the magnitude). The
//     packs interleave 4-element runs (e0-3, e8-11, ... | e4-7, e12-15, ...), which keeps every
//     (even, odd) pair adjacent: vpmaddubsw with (1, 16) makes the nibble bytes, and for 64
//     elements one vpackuswb + vpermq + vpshufb restores element order for a 32-byte store.
// MXCSR is never touched. Calls no inline helper of the kcs headers (see the AVX-512 file).
#include <cstdint>
#include <cstring>

#include "optimized/avx2/simd.h"
#include "optimized/nvfp4_quant-inl.h"

namespace kcs::opt {

namespace {

// g[i] holds 8 partial maxima of group i; returns the 8 group maxima in lane order.
inline __m256i group_max8(const __m256i g[8]) {
  __m256i h[4];
  for (int i = 0; i < 4; ++i)  // lane 0 = group 2i, lane 1 = group 2i+1, 4 partials each
    h[i] = _mm256_max_epu32(_mm256_permute2x128_si256(g[2 * i], g[2 * i + 1], 0x20),
                            _mm256_permute2x128_si256(g[2 * i], g[2 * i + 1], 0x31));
  // Lane j: dwords (g_j, g_{j+2}) for t (groups 0..3) and (g_{4+j}, g_{6+j}) for u.
  __m256i t = _mm256_max_epu32(_mm256_unpacklo_epi32(h[0], h[1]), _mm256_unpackhi_epi32(h[0], h[1]));
  t = _mm256_max_epu32(t, _mm256_shuffle_epi32(t, 0x4E));
  __m256i u = _mm256_max_epu32(_mm256_unpacklo_epi32(h[2], h[3]), _mm256_unpackhi_epi32(h[2], h[3]));
  u = _mm256_max_epu32(u, _mm256_shuffle_epi32(u, 0x4E));
  // Lane 0: g0 g2 g4 g6, lane 1: g1 g3 g5 g7.
  const __m256i z = _mm256_unpacklo_epi64(t, u);
  return _mm256_permutevar8x32_epi32(z, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

// The same on 16-bit magnitudes (BF16 / FP16 rows): v[i] holds the 16 of group i. Returns the
// maxima zero-extended to dwords, in lane order.
inline __m256i group_max8_u16(const __m256i v[8]) {
  __m256i h[4];
  for (int i = 0; i < 4; ++i)  // lane 0 = group 2i, lane 1 = group 2i+1, 8 partials each
    h[i] = _mm256_max_epu16(_mm256_permute2x128_si256(v[2 * i], v[2 * i + 1], 0x20),
                            _mm256_permute2x128_si256(v[2 * i], v[2 * i + 1], 0x31));
  // Lane j: word pairs of (g_j, g_{j+2}) in t and (g_{4+j}, g_{6+j}) in u, halved.
  const __m256i t = _mm256_max_epu16(_mm256_unpacklo_epi16(h[0], h[1]), _mm256_unpackhi_epi16(h[0], h[1]));
  const __m256i u = _mm256_max_epu16(_mm256_unpacklo_epi16(h[2], h[3]), _mm256_unpackhi_epi16(h[2], h[3]));
  // Lane j, qword 0: the maxima of g_j, g_{j+2}, g_{4+j}, g_{6+j}.
  __m256i z = _mm256_max_epu16(_mm256_unpacklo_epi32(t, u), _mm256_unpackhi_epi32(t, u));
  z = _mm256_max_epu16(z, _mm256_shuffle_epi32(z, 0x4E));
  // Zero-extend: lane 0 = g0 g2 g4 g6, lane 1 = g1 g3 g5 g7; then into order.
  z = _mm256_unpacklo_epi16(z, _mm256_setzero_si256());
  return _mm256_permutevar8x32_epi32(z, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

// Four dword vectors (32 elements) narrowed to bytes in the pack order e0-3, e8-11, e16-19,
// e24-27 | e4-7, e12-15, e20-23, e28-31 (signed saturation keeps -1 masks).
inline __m256i narrow_s(const __m256i d[4]) {
  return _mm256_packs_epi16(_mm256_packs_epi32(d[0], d[1]), _mm256_packs_epi32(d[2], d[3]));
}

// Byte codes (sign included) of 32 elements w[0..3], in narrow_s order. The threshold counts are
// table lookups on the keys of m = bits(min(|w|, 6)) as in the AVX-512 file (floor key - 499 and,
// for even, ceiling key - 500, both 0..19 after the 16-bit saturating subtraction), here with
// bytes and two vpshufb per table (entries 0..15 and 16..19). A NaN |w| would clamp to 6; blocks
// with a NaN amax zero those codes.
template <bool kAway>
inline __m256i e2m1_codes32(const __m256 w[4], bool may_nan) {
  __m256i m[4];
  for (int i = 0; i < 4; ++i)
    m[i] = _mm256_min_epu32(_mm256_and_si256(_mm256_castps_si256(w[i]), set1_u32(0x7FFFFFFF)), set1_u32(0x40C00000));
  // Keys >> 21 (<= 518) narrowed to bytes with the offset taken off on the way.
  auto keys = [&](int32_t add, int16_t off) {
    __m256i k[4];
    for (int i = 0; i < 4; ++i) k[i] = _mm256_srli_epi32(_mm256_add_epi32(m[i], set1_u32(add)), 21);
    const __m256i o = _mm256_set1_epi16(off);
    return _mm256_packus_epi16(_mm256_subs_epu16(_mm256_packus_epi32(k[0], k[1]), o),
                               _mm256_subs_epu16(_mm256_packus_epi32(k[2], k[3]), o));
  };
  // Table lookup of a 0..19 key: the second vpshufb sees key - 16, whose bit 7 is set below 16
  // (vpshufb then gives 0); the first uses the low 4 bits, so its result for 16..19 is an entry
  // <= the true one and the max picks the right value.
  auto lut = [](__m256i key, __m256i lo, __m256i hi) {
    return _mm256_max_epu8(_mm256_shuffle_epi8(lo, key), _mm256_shuffle_epi8(hi, _mm256_sub_epi8(key, _mm256_set1_epi8(16))));
  };
  const __m256i k = keys(0, 499);
  __m256i idx;
  if constexpr (kAway) {
    const __m256i lo = _mm256_setr_epi8(0, 1, 1, 1, 1, 1, 1, 2, 2, 2, 3, 3, 4, 4, 5, 5,  //
                                        0, 1, 1, 1, 1, 1, 1, 2, 2, 2, 3, 3, 4, 4, 5, 5);
    const __m256i hi = _mm256_setr_epi8(6, 6, 7, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,  //
                                        6, 6, 7, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
    idx = lut(k, lo, hi);
  } else {
    const __m256i ge_lo = _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 2, 2, 2, 2,  //
                                           0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 2, 2, 2, 2);
    const __m256i ge_hi = _mm256_setr_epi8(3, 3, 3, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,  //
                                           3, 3, 3, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
    const __m256i gt_lo = _mm256_setr_epi8(0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3,  //
                                           0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3);
    const __m256i gt_hi = _mm256_setr_epi8(3, 3, 4, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,  //
                                           3, 3, 4, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
    idx = _mm256_add_epi8(lut(k, ge_lo, ge_hi), lut(keys(0x1FFFFF, 500), gt_lo, gt_hi));
  }
  if (may_nan) {
    __m256i ord[4];
    for (int i = 0; i < 4; ++i) ord[i] = _mm256_castps_si256(_mm256_cmp_ps(w[i], w[i], _CMP_ORD_Q));
    idx = _mm256_and_si256(idx, narrow_s(ord));
  }
  __m256i neg[4];
  for (int i = 0; i < 4; ++i) neg[i] = _mm256_castps_si256(_mm256_cmp_ps(w[i], _mm256_setzero_ps(), _CMP_LT_OQ));
  return _mm256_or_si256(idx, _mm256_and_si256(narrow_s(neg), _mm256_set1_epi8(8)));
}

// Two narrow_s-ordered code vectors (64 elements) -> 32 packed bytes in element order.
inline __m256i pack64(__m256i a, __m256i b) {
  const __m256i nib = _mm256_set1_epi16(0x1001);  // even + 16 * odd
  // Words: lane 0 = pairs 0 1 4 5 8 9 12 13, lane 1 = pairs 2 3 6 7 10 11 14 15 (of a, then of b).
  const __m256i r = _mm256_packus_epi16(_mm256_maddubs_epi16(a, nib), _mm256_maddubs_epi16(b, nib));
  const __m256i q = _mm256_permute4x64_epi64(r, 0xD8);  // [a lane 0, a lane 1 | b lane 0, b lane 1]
  const __m256i order = _mm256_setr_epi8(0, 1, 8, 9, 2, 3, 10, 11, 4, 5, 12, 13, 6, 7, 14, 15,  //
                                         0, 1, 8, 9, 2, 3, 10, 11, 4, 5, 12, 13, 6, 7, 14, 15);
  return _mm256_shuffle_epi8(q, order);
}

// Step 1 for block kb (nb = 1): the 8 groups' max |bits| in lane order; for BF16 / FP16 rows the
// 16-bit maxima, zero-extended.
template <In kIn>
inline __m256i group_max_bits(const void* x, int64_t kb, int64_t nb) {
  (void)nb;
  __m256i mag[8];
  if constexpr (kIn == In::fp32) {
    const float* xf = static_cast<const float*>(x) + kb * 128;
    const VI abs_mask = set1_u32(0x7FFFFFFF);
    for (int g = 0; g < 8; ++g)
      mag[g] = max_u32(and_i(loadv_u32(xf + g * 16), abs_mask), and_i(loadv_u32(xf + g * 16 + 8), abs_mask));
    return group_max8(mag);
  } else {
    const uint16_t* xh = static_cast<const uint16_t*>(x) + kb * 128;
    for (int g = 0; g < 8; ++g) mag[g] = and_i(loadv_u32(xh + g * 16), set1_u16(0x7FFF));
    return group_max8_u16(mag);
  }
}

// Steps 5 and 6 for the 128 elements from x[j], 32 (groups 2b, 2b + 1) at a time: 64 packed bytes
// to fp4.
template <In kIn, bool kAway>
inline void code_block(const void* x, int64_t j, const float* inv, bool may_nan, uint8_t* fp4) {
  __m256i c[4];
  for (int b = 0; b < 4; ++b) {
    const VF inv0 = set1_f(inv[2 * b]), inv1 = set1_f(inv[2 * b + 1]);
    const int64_t i = j + b * 32;
    const VF w[4] = {mul_f(load_values<kIn>(x, i), inv0), mul_f(load_values<kIn>(x, i + 8), inv0),
                     mul_f(load_values<kIn>(x, i + 16), inv1), mul_f(load_values<kIn>(x, i + 24), inv1)};
    c[b] = e2m1_codes32<kAway>(w, may_nan);
  }
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(fp4), pack64(c[0], c[1]));
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(fp4 + 32), pack64(c[2], c[3]));
}

}  // namespace
}  // namespace kcs::opt
