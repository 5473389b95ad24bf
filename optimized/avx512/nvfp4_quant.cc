// NVFP4 quantizer (spec §6.3), AVX-512 F/BW/DQ. Bit-identical to nvfp4_row_reference for every
// input. Rows are done in chunks of up to 16 blocks (2048 elements), in two passes:
//   pass 1, 16 groups (two blocks) per step:
//   1. amax: integer max of |bit patterns| (exact; NaN beats Inf, as nvfp4_amax defines it),
//      reduced for all 16 groups at once by a merging shuffle tree into lane g = group g. BF16 /
//      FP16 rows take it on their 16-bit magnitudes (half the vectors) and widen the 16 maxima;
//      FP16's vcvtph2ps quiets a signalling NaN, which the division quiets anyway (taking the max
//      after quieting could pick another NaN than the reference does, this cannot).
//   2. scale = amax / 6 with vdivps (IEEE, never rcp14), min(448, scale) for saturate_scale with
//      the operand order that keeps a NaN (MINPS returns its second operand on NaN).
//   3. the staging E4M3 encode in integer SIMD on the scale's bit pattern: nearest-even by the
//      add-(half - 1 + lsb)-then-shift identity on both paths (variable shifts for the subnormal
//      one), the mantissa carry added straight into the exponent (code = (er << 3) + mant), and
//      the exponent clamp as "code > 127 -> 0x78 | (code & 7)", which keeps the mantissa bits.
//   4. decode: (code << 20) + (120 << 23) for exp >= 1, mant * 2^-9 for exp 0 (both exact);
//      inv = 1 / max(ŝ, 1e-6) with vdivps, kept in a small buffer; the scale bytes are stored.
//      A chunk whose amaxes all lie in [0.09375, 2975] (the common case) skips the subnormal
//      path, the clamp and the floor: close to a third of pass 1's operations.
//   pass 2, per block, on elements still in L1:
//   5. w = v * inv (one multiply, no FMA), and the E2M1 index as table lookups on the bit
//      pattern of min(|w|, 6) (see e2m1_codes), which is exact because every threshold has zero
//      low 21 bits. Sign = (w < 0) as a compare, so -0.0 gives 0x0. The staging clamp to [-6, 6]
//      is the min: it never changes a code otherwise.
//   6. pack: vpackusdw / vpackuswb to bytes, vpmaddubsw with (1, 16) joins the nibble pairs,
//      vpackuswb again and one vpermw restores element order: one 64-byte store per block.
// One pass per block was about 2x slower: each block's codes waited on its amax tree, two
// divisions and the encode. Pass 2 prefetches the next chunk (nvfp4_quant-inl.h).
// MXCSR is never touched: no DAZ/FTZ, so subnormal inputs go through the multiply as IEEE says.
//
// Compiled with AVX-512 flags; calls no inline helper of the kcs headers (an out-of-line copy
// emitted here could be the one the linker keeps for the whole program).
#include <cstdint>
#include <cstring>

#include "optimized/avx512/simd.h"
#include "optimized/nvfp4_quant-inl.h"

namespace kcs::opt {

namespace {

// Max over each of 16 vectors (one group each) into lane g = group g.
inline __m512i group_max16(const __m512i g[16]) {
  // 128-bit lanes of pairs: [a0 a1 b0 b1] vs [a2 a3 b2 b3] -> two partial lanes per group.
  __m512i m[8];
  for (int i = 0; i < 8; ++i)
    m[i] = _mm512_max_epu32(_mm512_shuffle_i32x4(g[2 * i], g[2 * i + 1], 0x44),
                            _mm512_shuffle_i32x4(g[2 * i], g[2 * i + 1], 0xEE));
  // One 128-bit lane per group: n[q] = groups 4q .. 4q+3, 4 partials each.
  __m512i n[4];
  for (int q = 0; q < 4; ++q)
    n[q] = _mm512_max_epu32(_mm512_shuffle_i32x4(m[2 * q], m[2 * q + 1], 0x88),
                            _mm512_shuffle_i32x4(m[2 * q], m[2 * q + 1], 0xDD));
  // Lane j: (n0[0|2], n1[0|2], n0[1|3], n1[1|3]) maxed, then the 64-bit halves of two of those.
  const __m512i t01 = _mm512_max_epu32(_mm512_unpacklo_epi32(n[0], n[1]), _mm512_unpackhi_epi32(n[0], n[1]));
  const __m512i t23 = _mm512_max_epu32(_mm512_unpacklo_epi32(n[2], n[3]), _mm512_unpackhi_epi32(n[2], n[3]));
  // Lane j, dword q: the max of group 4q + j.
  const __m512i t = _mm512_max_epu32(_mm512_unpacklo_epi64(t01, t23), _mm512_unpackhi_epi64(t01, t23));
  return _mm512_permutexvar_epi32(_mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15), t);
}

// The same for BF16 / FP16 rows on their 16-bit magnitudes, half the vectors: v[i] holds groups
// 2i (128-bit lanes 0, 1) and 2i + 1 (lanes 2, 3). Returns the maxima zero-extended to dwords.
inline __m512i group_max16_u16(const __m512i v[8]) {
  // One 128-bit lane per group: n[q] = groups 4q .. 4q+3, 8 partials each.
  __m512i n[4];
  for (int q = 0; q < 4; ++q)
    n[q] = _mm512_max_epu16(_mm512_shuffle_i32x4(v[2 * q], v[2 * q + 1], 0x88),
                            _mm512_shuffle_i32x4(v[2 * q], v[2 * q + 1], 0xDD));
  // Word pairs (n0, n1) and (n2, n3) halved twice, then the dword pairs of both halved: lane j,
  // qword 0 ends as the maxima of groups j, 4 + j, 8 + j, 12 + j.
  const __m512i t01 = _mm512_max_epu16(_mm512_unpacklo_epi16(n[0], n[1]), _mm512_unpackhi_epi16(n[0], n[1]));
  const __m512i t23 = _mm512_max_epu16(_mm512_unpacklo_epi16(n[2], n[3]), _mm512_unpackhi_epi16(n[2], n[3]));
  __m512i u = _mm512_max_epu16(_mm512_unpacklo_epi32(t01, t23), _mm512_unpackhi_epi32(t01, t23));
  u = _mm512_max_epu16(u, _mm512_shuffle_epi32(u, _MM_PERM_BADC));
  // Group g = 4q + j sits at word 8j + q; odd words of the result are zeroed (zero extension).
  const __m512i idx = _mm512_set_epi16(0, 31, 0, 23, 0, 15, 0, 7, 0, 30, 0, 22, 0, 14, 0, 6,  //
                                       0, 29, 0, 21, 0, 13, 0, 5, 0, 28, 0, 20, 0, 12, 0, 4);
  return _mm512_maskz_permutexvar_epi16(0x55555555u, idx, u);
}

// E2M1 codes (0..15 per dword) of 16 elements.
//
// Every threshold T has zero low 21 bits, so with m = bits(min(|w|, 6)):
//   |w| >= T  <=>  (m >> 21) >= key(T)        |w| > T  <=>  ceil(m / 2^21) >= key(T) + 1,
// key(0.25) = 500, ..., key(5) = 517, key(6) = 518. Saturating 16-bit subtractions (the high
// word of each dword is 0) bring both keys into 0..19, and a 32-entry vpermt2d table counts the
// thresholds met: away uses one table on the floor key; even adds a table of the >= thresholds
// (0.75, 1.75, 3.5) on the floor key and one of the > thresholds (0.25, 1.25, 2.5, 5) on the
// ceiling key. vrangeps gives min(|w|, 6) in one instruction. A NaN w would index garbage; blocks
// with a NaN amax (the only ones that can hold a NaN w) zero those codes.
template <bool kAway>
inline __m512i e2m1_codes(__m512 v, __m512 inv, bool may_nan) {
  const __m512 w = _mm512_mul_ps(v, inv);
  const __m512i m = _mm512_castps_si512(_mm512_range_ps(w, _mm512_set1_ps(6.0f), 0x0A));  // min |.|, sign 0
  const __m512i k = _mm512_subs_epu16(_mm512_srli_epi32(m, 21), set1_u32(499));               // 0..19
  __m512i idx;
  if constexpr (kAway) {
    // T = 0.25, 0.75, 1.25, 1.75, 2.5, 3.5, 5 start buckets 1, 7, 10, 12, 14, 16, 18.
    const __m512i lo = _mm512_setr_epi32(0, 1, 1, 1, 1, 1, 1, 2, 2, 2, 3, 3, 4, 4, 5, 5);
    const __m512i hi = _mm512_setr_epi32(6, 6, 7, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
    idx = _mm512_permutex2var_epi32(lo, k, hi);
  } else {
    // >= 0.75, 1.75, 3.5: floor buckets 7, 12, 16.
    const __m512i ge_lo = _mm512_setr_epi32(0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 2, 2, 2, 2);
    const __m512i ge_hi = _mm512_setr_epi32(3, 3, 3, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
    // > 0.25, 1.25, 2.5, 5: ceil(m / 2^21) - 500 >= 1, 10, 14, 18.
    const __m512i kc = _mm512_subs_epu16(_mm512_srli_epi32(_mm512_add_epi32(m, set1_u32(0x1FFFFF)), 21), set1_u32(500));
    const __m512i gt_lo = _mm512_setr_epi32(0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3);
    const __m512i gt_hi = _mm512_setr_epi32(3, 3, 4, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
    idx = _mm512_add_epi32(_mm512_permutex2var_epi32(ge_lo, k, ge_hi), _mm512_permutex2var_epi32(gt_lo, kc, gt_hi));
  }
  if (may_nan) idx = _mm512_maskz_mov_epi32(_mm512_cmp_ps_mask(w, w, _CMP_ORD_Q), idx);
  const __mmask16 neg = _mm512_cmp_ps_mask(w, _mm512_setzero_ps(), _CMP_LT_OQ);
  return _mm512_mask_or_epi32(idx, neg, idx, set1_u32(8));
}

// 8 vectors of 16 dword codes (0..15) -> 64 packed bytes in element order.
inline __m512i pack_block(const __m512i c[8]) {
  // Per 128-bit lane j after the packs: bytes [c0_j(4) c1_j(4) c2_j(4) c3_j(4)] and likewise c4..c7.
  const __m512i b0 = _mm512_packus_epi16(_mm512_packus_epi32(c[0], c[1]), _mm512_packus_epi32(c[2], c[3]));
  const __m512i b1 = _mm512_packus_epi16(_mm512_packus_epi32(c[4], c[5]), _mm512_packus_epi32(c[6], c[7]));
  // Even element + 16 * odd element: one byte per pair, as a word.
  const __m512i nib = _mm512_set1_epi16(0x1001);
  const __m512i r = _mm512_packus_epi16(_mm512_maddubs_epi16(b0, nib), _mm512_maddubs_epi16(b1, nib));
  // Word 8j + c of r holds group c's bytes from lane j; the output wants them at word 4c + j.
  const __m512i order = _mm512_set_epi16(31, 23, 15, 7, 30, 22, 14, 6, 29, 21, 13, 5, 28, 20, 12, 4,  //
                                         27, 19, 11, 3, 26, 18, 10, 2, 25, 17, 9, 1, 24, 16, 8, 0);
  return _mm512_permutexvar_epi16(order, r);
}

// Step 1 for blocks kb and kb + 1 (nb = 1: only kb, the other's groups read 0): the groups' max
// |bits| into lane g = group g; for BF16 / FP16 rows the 16-bit maxima, zero-extended.
template <In kIn>
inline __m512i group_max_bits(const void* x, int64_t kb, int64_t nb) {
  if constexpr (kIn == In::fp32) {
    const float* xf = static_cast<const float*>(x) + kb * 128;
    __m512i mag[16];
    for (int g = 0; g < 16; ++g)
      mag[g] = g < 8 || nb > 1 ? and_i(loadv_u32(xf + g * 16), set1_u32(0x7FFFFFFF)) : _mm512_setzero_si512();
    return group_max16(mag);
  } else {
    const uint16_t* xh = static_cast<const uint16_t*>(x) + kb * 128;
    __m512i mag[8];
    for (int i = 0; i < 8; ++i)
      mag[i] = i < 4 || nb > 1 ? and_i(loadv_u32(xh + i * 32), set1_u16(0x7FFF)) : _mm512_setzero_si512();
    return group_max16_u16(mag);
  }
}

// Steps 5 and 6 for the 128 elements from x[j]: 64 packed bytes to fp4.
template <In kIn, bool kAway>
inline void code_block(const void* x, int64_t j, const float* inv, bool may_nan, uint8_t* fp4) {
  __m512i c[8];
  for (int g = 0; g < 8; ++g) c[g] = e2m1_codes<kAway>(load_values<kIn>(x, j + g * 16), set1_f(inv[g]), may_nan);
  _mm512_storeu_si512(fp4, pack_block(c));
}

}  // namespace
}  // namespace kcs::opt
