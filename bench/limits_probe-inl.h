// The loops every limit probe shares, included by each per-ISA probe file (limits_avx2.cc,
// limits_avx512.cc, limits_avxvnni.cc) inside its anonymous namespace after <immintrin.h>: each
// file compiles them with its own ISA flags and internal linkage, so no copy built for one ISA
// can be the one the linker keeps for another (limits_avx512.cc says why that matters).
// No include guard: one inclusion per probe file.

// GCC warns that a vector type's attributes are dropped in a template argument; the operations
// below only copy and pass the values, which keeps them.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wignored-attributes"

// kChains independent dependency chains acc[k] = step(acc[k]) for `iters` rounds (enough of them
// to cover latency x throughput), then their sum by `add`, so that every chain stays live.
template <int kChains, class V, class Init, class Step, class Add>
V run_chains(int64_t iters, Init init, Step step, Add add) {
  V acc[kChains];
  for (int k = 0; k < kChains; ++k) acc[k] = init(k);
  for (int64_t i = 0; i < iters; ++i) {
#pragma GCC unroll 16
    for (int k = 0; k < kChains; ++k) acc[k] = step(acc[k]);
  }
  V s = acc[0];
  for (int k = 1; k < kChains; ++k) s = add(s, acc[k]);
  return s;
}

// Sum of the n vectors at v (n a multiple of 8), 8 loads a round into 4 accumulators.
template <class V, class Load, class Add>
V sum_loads(const V* v, size_t n, V zero, Load load, Add add) {
  V s0 = zero, s1 = zero, s2 = zero, s3 = zero;
  for (size_t i = 0; i < n; i += 8) {
    s0 = add(s0, load(v + i));
    s1 = add(s1, load(v + i + 1));
    s2 = add(s2, load(v + i + 2));
    s3 = add(s3, load(v + i + 3));
    s0 = add(s0, load(v + i + 4));
    s1 = add(s1, load(v + i + 5));
    s2 = add(s2, load(v + i + 6));
    s3 = add(s3, load(v + i + 7));
  }
  return add(add(s0, s1), add(s2, s3));
}

#pragma GCC diagnostic pop
