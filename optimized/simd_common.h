// ISA-neutral vector helpers over the vocabulary of optimized/avx512/simd.h and
// optimized/avx2/simd.h (VF, kLanes, add_f, reduce_tree), included at the end of each.
#pragma once

#include <cstdint>

namespace kcs::opt {
namespace {

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

}  // namespace
}  // namespace kcs::opt
