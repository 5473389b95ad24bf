// The ISA-neutral part of the NVFP4 quantizer (spec §1.2): the input loads, the scale pipeline
// (steps 1 to 5 for kLanes groups), the row loop and the dispatch on input dtype, tie rule and
// scale saturation, as nvfp4_quant_<isa>. Included at the top of optimized/avx512/nvfp4_quant.cc
// and optimized/avx2/nvfp4_quant.cc, each of which then defines the amax tree and the E2M1 coding
// (declared below). The steps are described in the AVX-512 file.
#pragma once

#include <cstdint>

#include "optimized/nvfp4_quant.h"

namespace kcs::opt {
namespace {

enum class In { bf16, fp16, fp32 };

// Per ISA: step 1, the max |bits| of the kLanes groups of blocks kb .. kb + nb - 1 (nb <= kLanes / 8;
// the groups of missing blocks read 0), one a lane, as 16-bit maxima (zero-extended) for BF16 /
// FP16 rows; steps 5 and 6 for the 128 elements from x[j] with the inverse scales of their 8
// groups: 64 packed bytes to fp4.
template <In kIn>
inline VI group_max_bits(const void* x, int64_t kb, int64_t nb);
template <In kIn, bool kAway>
inline void code_block(const void* x, int64_t j, const float* inv, bool may_nan, uint8_t* fp4);

// The kLanes elements x[j, j + kLanes) widened to binary32 (exact, FP16 subnormals included).
template <In kIn>
inline VF load_values(const void* x, int64_t j) {
  if constexpr (kIn == In::fp32) return loadv_f32(static_cast<const float*>(x) + j);
  const VH h = loadv_h(static_cast<const uint16_t*>(x) + j);
  return kIn == In::bf16 ? widen_bf16(h) : widen_fp16(h);
}

// Group maxima of 16-bit magnitudes (zero-extended dwords) as binary32 bit patterns: BF16 is the
// top half of a binary32; vcvtph2ps quiets a signalling NaN, which the division quiets anyway (the
// reference divides the unquieted max), so the scale bits agree.
template <In kIn>
inline VI widen_amax(VI m) {
  if constexpr (kIn == In::bf16) return shl_u32<16>(m);
  return as_i(widen_fp16(narrow_u16(m)));
}

// Steps 1 (floor) to 5 (inv) for kLanes groups, one a lane. Returns the scale codes; *inv gets
// 1 / max(decode(code), 1e-6). kNormal: the caller knows every scale is in [2^-6, 496).
template <bool kSat, bool kNormal>
inline VI scale_codes(VI amax_bits, VF* inv) {
  const VI a = max_u32(amax_bits, set1_u32(bits_of(kNvfp4AmaxFloor)));  // NaN stays
  VF scale = div_f(as_f(a), set1_f(6.0f));
  if constexpr (kSat) scale = min_f(set1_f(kNvfp4ScaleMax), scale);  // keeps a NaN
  const VI s = as_i(scale);
  // Normal path (er = e - 120 >= 1): RNE of the fraction to its top 3 bits, a carry (mant 8)
  // landing in the exponent through the add: r = (e << 3) + mant, the code r - (120 << 3) and
  // its decode (exact) the bits r << 20.
  const VI r = shr_u32<20>(add_i(add_i(s, set1_u32(0x7FFFF)), and_i(shr_u32<20>(s), set1_u32(1))));
  if constexpr (kNormal) {
    *inv = div_f(set1_f(1.0f), as_f(shl_u32<20>(r)));
    return sub_i(r, set1_u32(120 << 3));
  }
  const VI e = shr_u32<23>(s);  // the sign is 0: scale >= 0 or a positive NaN
  // Subnormal path (er <= 0): (1.f) >> t with t = sh + 20 = 141 - e (21..30 behind the floor),
  // RNE; exp 0, and a carry to 8 is exp 1 mant 0 as the reference's overflow step makes it.
  const VI t = sub_i(set1_u32(141), e);
  const VI mw = or_i(and_i(s, set1_u32(0x7FFFFF)), set1_u32(0x800000));
  const VI m_lsb = and_i(shrv_u32(mw, t), set1_u32(1));
  const VI half_m1 = sub_i(shlv_u32(set1_u32(1), sub_i(t, set1_u32(1))), set1_u32(1));
  VI code = select_i(gt_i32(e, set1_u32(120)), sub_i(r, set1_u32(120 << 3)),
                     shrv_u32(add_i(add_i(mw, half_m1), m_lsb), t));
  // Exponent clamp to 15 with the mantissa kept (the staging kernel's overflow behaviour); codes
  // are small, so the signed compare is the unsigned one.
  code = select_i(gt_i32(code, set1_u32(127)), or_i(and_i(code, set1_u32(7)), set1_u32(0x78)), code);
  // Decode (exact) and the reciprocal.
  const VF hi = as_f(add_i(shl_u32<20>(code), set1_u32(120 << 23)));
  const VF lo = mul_f(cvt_i32_f(code), set1_f(0x1p-9f));
  const VF s_hat = select_f(gt_i32(set1_u32(8), code), lo, hi);
  *inv = div_f(set1_f(1.0f), max_f(s_hat, set1_f(kNvfp4InvFloor)));
  return code;
}

// Blocks are done in chunks of two passes: pass 1 computes the scale bytes and inverse scales of
// every group of the chunk (kLanes groups per step, independent steps the core can overlap), pass
// 2 codes the elements, which are still in L1. One pass per block would chain each block's codes
// behind its amax tree, two divisions and the encode.
constexpr int64_t kChunkBlocks = 16;
constexpr int64_t kStepBlocks = kLanes / 8;

template <In kIn, bool kAway, bool kSat>
void quant_row(const void* x, int64_t kb0, int64_t kb1, uint8_t* fp4, uint8_t* sf) {
  constexpr int esize = kIn == In::fp32 ? 4 : 2;
  alignas(64) float inv[kChunkBlocks * 8 + kLanes];
  for (int64_t c0 = kb0; c0 < kb1; c0 += kChunkBlocks) {
    const int64_t c1 = min64(c0 + kChunkBlocks, kb1);
    VI amax[kChunkBlocks / kStepBlocks];
    VI amax_all = set1_u32(0), span = set1_u32(0);
    for (int64_t kb = c0, i = 0; kb < c1; kb += kStepBlocks, ++i) {
      amax[i] = group_max_bits<kIn>(x, kb, min64(kStepBlocks, c1 - kb));
      if constexpr (kIn != In::fp32) amax[i] = widen_amax<kIn>(amax[i]);
      amax_all = max_u32(amax_all, amax[i]);
      span = max_u32(span, sub_i(amax[i], set1_u32(bits_of(0.09375f))));  // wraps below
    }
    // Every amax of the chunk in [6 * 2^-6, 2975]: every scale in [2^-6, 496), the common case.
    const bool normal = hmax_u32(span) <= bits_of(2975.0f) - bits_of(0.09375f);
    for (int64_t kb = c0, i = 0; kb < c1; kb += kStepBlocks, ++i) {
      VF iv;
      const VI scode = normal ? scale_codes<kSat, true>(amax[i], &iv) : scale_codes<kSat, false>(amax[i], &iv);
      storev_f32(inv + (kb - c0) * 8, iv);
      const __m128i bytes = narrow_u8(scode);
      if (kStepBlocks > 1 && c1 - kb > 1)
        _mm_storeu_si128(reinterpret_cast<__m128i*>(sf + kb * 8), bytes);
      else
        _mm_storel_epi64(reinterpret_cast<__m128i*>(sf + kb * 8), bytes);
    }
    // Only a NaN amax can come with a NaN w (inv is finite and positive).
    const bool may_nan = !normal && hmax_u32(amax_all) > 0x7F800000u;
    for (int64_t kb = c0; kb < c1; ++kb) {
      // The next chunk's input lines (pass 1 would stall on them: the hardware streamer stops at
      // the 4 KiB page) and its output lines, one block per block coded. Never faults.
      const char* next = static_cast<const char*>(x) + (kb + kChunkBlocks) * 128 * esize;
      for (int l = 0; l < 2 * esize; ++l) _mm_prefetch(next + 64 * l, _MM_HINT_T0);
      _mm_prefetch(reinterpret_cast<const char*>(fp4 + (kb + kChunkBlocks) * 64), _MM_HINT_T0);
      code_block<kIn, kAway>(x, kb * 128, inv + (kb - c0) * 8, may_nan, fp4 + kb * 64);
    }
  }
}

template <In kIn, bool kAway, bool kSat>
void quant_rows(const Nvfp4Rows& a, int64_t r0, int64_t r1, int64_t kb0, int64_t kb1) {
  const int64_t esize = kIn == In::fp32 ? 4 : 2;
  for (int64_t r = r0; r < r1; ++r)
    quant_row<kIn, kAway, kSat>(static_cast<const char*>(a.x) + r * a.x_stride * esize, kb0, kb1,
                                a.x_fp4 + r * (a.k / 2), reinterpret_cast<uint8_t*>(a.x_sf + r * (a.k / 64)));
}

template <In kIn>
void dispatch_modes(const Nvfp4Rows& a, int64_t r0, int64_t r1, int64_t kb0, int64_t kb1) {
  const bool away = a.params.ties == E2m1Ties::away;
  if (away && !a.params.saturate_scale) return quant_rows<kIn, true, false>(a, r0, r1, kb0, kb1);
  if (away) return quant_rows<kIn, true, true>(a, r0, r1, kb0, kb1);
  if (!a.params.saturate_scale) return quant_rows<kIn, false, false>(a, r0, r1, kb0, kb1);
  return quant_rows<kIn, false, true>(a, r0, r1, kb0, kb1);
}

}  // namespace

void KCS_ISA_FN(nvfp4_quant)(const Nvfp4Rows& a, int64_t r0, int64_t r1, int64_t kb0, int64_t kb1) {
  switch (a.x_dtype) {
    case DType::bf16: return dispatch_modes<In::bf16>(a, r0, r1, kb0, kb1);
    case DType::fp16: return dispatch_modes<In::fp16>(a, r0, r1, kb0, kb1);
    default: return dispatch_modes<In::fp32>(a, r0, r1, kb0, kb1);
  }
}

}  // namespace kcs::opt
