// AVX2 + FMA limit probes (built with -mavx2 -mfma -mf16c; called only on CPUs with avx2+fma).
// No kcs header inline functions or std:: templates here (see limits_avx512.cc for why).
#include <immintrin.h>

#include <cstdint>

#include "bench/limits_probes.h"

namespace kcs::bench::probe {

namespace {
#include "bench/limits_probe-inl.h"

thread_local volatile float g_sink_f;  // per thread: the probes run on every thread at once
thread_local volatile uint64_t g_sink_u;
// 12 chains (2 FMA pipes x latency 4-5 needs 8-10) plus the two operands fit the 16 ymm registers.
constexpr int kChains = 12;
}  // namespace

uint64_t read_sum_avx2(const void* p, size_t bytes) {
  const __m256i s = sum_loads(static_cast<const __m256i*>(p), bytes / 32, _mm256_setzero_si256(),
                              [](const __m256i* q) { return _mm256_load_si256(q); },
                              [](__m256i x, __m256i y) { return _mm256_add_epi64(x, y); });
  const __m128i h = _mm_add_epi64(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
  const uint64_t r = static_cast<uint64_t>(_mm_cvtsi128_si64(h)) + static_cast<uint64_t>(_mm_extract_epi64(h, 1));
  g_sink_u = r;
  return r;
}

double fma_ymm(int64_t iters) {
  const __m256 a = _mm256_set1_ps(0.999f), b = _mm256_set1_ps(0.001f);  // converges to ~1
  const __m256 s = run_chains<kChains, __m256>(
      iters, [](int k) { return _mm256_set1_ps(0.5f + 0.01f * static_cast<float>(k)); },
      [a, b](__m256 x) { return _mm256_fmadd_ps(x, a, b); }, [](__m256 x, __m256 y) { return _mm256_add_ps(x, y); });
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, s);
  g_sink_f = lanes[0] + lanes[7];
  return static_cast<double>(iters) * kChains * 8 * 2;
}

}  // namespace kcs::bench::probe
