// AVX-VNNI limit probe: VEX-encoded vpdpbusd on ymm (Alder Lake+, Zen 5), built with
// -mavx2 -mavxvnni and called only when the CPU reports avx_vnni.
#include <immintrin.h>

#include "bench/limits_probes.h"

namespace kcs::bench::probe {

#ifdef KCS_BENCH_NO_AVXVNNI
double vnni_ymm(int64_t) { return 0; }
#else
namespace {
thread_local volatile int g_sink_i;
constexpr int kChains = 12;  // + 2 operands in 16 ymm registers
}  // namespace

double vnni_ymm(int64_t iters) {
  __m256i acc[kChains];
  for (int k = 0; k < kChains; ++k) acc[k] = _mm256_set1_epi32(k);
  const __m256i a = _mm256_set1_epi8(3), b = _mm256_set1_epi8(-5);
  for (int64_t i = 0; i < iters; ++i) {
#pragma GCC unroll 12
    for (int k = 0; k < kChains; ++k) acc[k] = _mm256_dpbusd_avx_epi32(acc[k], a, b);
  }
  __m256i s = acc[0];
  for (int k = 1; k < kChains; ++k) s = _mm256_add_epi32(s, acc[k]);
  alignas(32) int lanes[8];
  _mm256_store_si256(reinterpret_cast<__m256i*>(lanes), s);
  g_sink_i = lanes[0] + lanes[7];
  return static_cast<double>(iters) * kChains * 32 * 2;
}
#endif

}  // namespace kcs::bench::probe
