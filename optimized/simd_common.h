// ISA-neutral vector helpers over the vocabulary of optimized/avx512/simd.h and
// optimized/avx2/simd.h (optimized/simd_ops.h, and the ISA's predicates gt_i32 / select_i,
// narrow_u16, loadr_f32, storer_i32, storer_u16, reduce_tree), included at the end of each.
#pragma once

#include <cstdint>
#include <type_traits>

namespace kcs::opt {
namespace {

// Lanes whose binary32 bits are a NaN (|bits| < 2^31, so the signed compare orders them).
inline MI nan_bits(VI u) { return gt_i32(and_i(u, set1_u32(0x7FFFFFFF)), set1_u32(0x7F800000)); }
// BF16 round to nearest even (integer rounding, subnormals kept), in the low word of each dword;
// the NaN lanes are left to the caller.
inline VI rne_bf16(VI u) { return shr_u32<16>(add_i(u, add_i(and_i(shr_u32<16>(u), set1_u32(1)), set1_u32(0x7FFF)))); }
// NaN -> sign|0x7FC0.
inline VI round_bf16(VF v) {
  const VI u = as_i(v);
  return select_i(nan_bits(u), or_i(and_i(shr_u32<16>(u), set1_u32(0x8000)), set1_u32(0x7FC0)), rne_bf16(u));
}
inline VH narrow_bf16(VF v) { return narrow_u16(round_bf16(v)); }
// (bf16(hi) << 16) | bf16(lo) per dword.
inline VI pack_bf16_pairs(VF lo, VF hi) { return or_i(round_bf16(lo), shl_u32<16>(round_bf16(hi))); }
// gemm_bf16's NaN rule: quietened, payload kept ((bits >> 16) | 0x40).
inline VH to_bf16_quiet(VF x) {
  const VI u = as_i(x);
  return narrow_u16(select_i(nan_bits(u), or_i(shr_u32<16>(u), set1_u32(0x40)), rne_bf16(u)));
}

// The first r lanes (r clamped to [0, kLanes]): the others read as +0 and are not written; and the
// fp32 store of lanes [b, e) as a dword one.
inline VF loadn_f32(const float* p, int64_t r) { return loadr_f32(p, 0, r); }
inline VF loadn_bf16(const uint16_t* p, int64_t r) { return widen_bf16(loadn_h(p, r)); }
inline void storer_f32(float* p, VF v, int64_t b, int64_t e) {
  storer_i32(reinterpret_cast<int32_t*>(p), as_i(v), b, e);
}
inline void storen_f32(float* p, VF v, int64_t r) { storer_f32(p, v, 0, r); }
inline void storen_u32(void* p, VI v, int64_t r) { storer_i32(static_cast<int32_t*>(p), v, 0, r); }
inline void storen_bf16(uint16_t* p, VF v, int64_t r) { storer_u16(p, narrow_bf16(v), 0, r); }
inline void storen_fp16(uint16_t* p, VF v, int64_t r) { storer_u16(p, to_fp16(v), 0, r); }

// The min of 8 words (vphminposuw); the words' min / max (the complement of the complements' min).
inline uint32_t min8_u16(__m128i q) { return static_cast<uint32_t>(_mm_cvtsi128_si32(_mm_minpos_epu16(q))) & 0xFFFFu; }
inline uint32_t hmin_u16(VI v) { return min8_u16(fold_min_u16(v)); }
inline uint32_t hmax_u16(VI v) { return 0xFFFFu - min8_u16(_mm_xor_si128(fold_max_u16(v), _mm_set1_epi16(-1))); }

// 64 partial sums in 64 / kLanes accumulators: lane i of acc_q is partial kLanes·q + i.
constexpr int kAcc64 = 64 / kLanes;

// The fixed tree over 64 partials: P_l ⊕= P_{l+w} for w = 32, 16, ..., 1 (whole registers, then
// lanes).
inline float tree64(VF (&acc)[kAcc64]) {
  for (int w = kAcc64 / 2; w > 0; w /= 2)
    for (int q = 0; q < w; ++q) acc[q] = add_f(acc[q], acc[q + w]);
  return reduce_tree(acc[0]);
}

// f(j, r) for j = 0, kLanes, ... < n: whole vectors first with r = kLanes, a constant that the
// "n" loads and stores fold into plain ones, then the tail's r = n - j.
template <class F>
inline void for_lanes(int64_t n, F&& f) {
  int64_t j = 0;
  for (; j + kLanes <= n; j += kLanes) f(j, int64_t{kLanes});
  if (j < n) f(j, n - j);
}

// tree64 of term(x + k, r) over the row x[0, n) in increasing k; r = the lanes that exist (the
// term gives +0 in the others).
template <class T, class Term>
float tree_sum64(const T* x, int64_t n, const Term& term) {
  VF acc[kAcc64];
  for (auto& a : acc) a = zero_f();
  int64_t k = 0;
  for (; k + 64 <= n; k += 64)
    for (int q = 0; q < kAcc64; ++q) acc[q] = add_f(acc[q], term(x + k + kLanes * q, kLanes));
  if (k < n)
    for (int q = 0; q < kAcc64; ++q) acc[q] = add_f(acc[q], term(x + k + kLanes * q, n - k - kLanes * q));
  return tree64(acc);
}

// f(std::integral_constant<int, rows>) for 1 <= rows <= kMax <= 6: a register tile's height as a
// template argument.
template <int kMax, class F>
inline void with_rows(int64_t rows, F&& f) {
  using std::integral_constant;
  switch (rows) {
    case 1: f(integral_constant<int, 1>{}); break;
    case 2: if constexpr (kMax >= 2) f(integral_constant<int, 2>{}); break;
    case 3: if constexpr (kMax >= 3) f(integral_constant<int, 3>{}); break;
    case 4: if constexpr (kMax >= 4) f(integral_constant<int, 4>{}); break;
    case 5: if constexpr (kMax >= 5) f(integral_constant<int, 5>{}); break;
    default: if constexpr (kMax >= 6) f(integral_constant<int, 6>{}); break;
  }
}

}  // namespace
}  // namespace kcs::opt
