// AVX-VNNI limit probe: VEX-encoded vpdpbusd on ymm (Alder Lake+, Zen 5), built with
// -mavx2 -mavxvnni and called only when the CPU reports avx_vnni.
#include <immintrin.h>

#include <cstdint>

#include "bench/limits_probes.h"

namespace kcs::bench::probe {

#ifdef KCS_BENCH_NO_AVXVNNI
double vnni_ymm(int64_t) { return 0; }
#else
namespace {
#include "bench/limits_probe-inl.h"

thread_local volatile int g_sink_i;
constexpr int kChains = 12;  // + 2 operands in 16 ymm registers
}  // namespace

double vnni_ymm(int64_t iters) {
  const __m256i a = _mm256_set1_epi8(3), b = _mm256_set1_epi8(-5);
  const __m256i s = run_chains<kChains, __m256i>(
      iters, [](int k) { return _mm256_set1_epi32(k); }, [a, b](__m256i x) { return _mm256_dpbusd_avx_epi32(x, a, b); },
      [](__m256i x, __m256i y) { return _mm256_add_epi32(x, y); });
  alignas(32) int lanes[8];
  _mm256_store_si256(reinterpret_cast<__m256i*>(lanes), s);
  g_sink_i = lanes[0] + lanes[7];
  return static_cast<double>(iters) * kChains * 32 * 2;
}
#endif

}  // namespace kcs::bench::probe
