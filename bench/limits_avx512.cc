// AVX-512 limit probes (built with the AVX-512 flags; called only when the CPU has the feature:
// fma_zmm/read_sum_avx512 need avx512f, vnni_zmm avx512_vnni, bf16_zmm avx512_bf16).
// No kcs header inline functions or std:: templates are used here: an out-of-line copy emitted
// in this AVX-512 object could be the one the linker keeps for the whole program.
//
// GCC 12's intrinsic headers trip -Wmaybe-uninitialized under C++ -Wall (GCC PR 105593); the
// warnings point into the header, so they are silenced around the include only.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop

#include "bench/limits_probes.h"

namespace kcs::bench::probe {

namespace {
thread_local volatile float g_sink_f;  // per thread: the probes run on every thread at once
thread_local volatile int g_sink_i;
thread_local volatile uint64_t g_sink_u;
// 16 chains: Zen 4/5 and Sapphire Rapids issue 2 per cycle with latency <= 5, so 10 would do;
// 16 of the 32 zmm registers leaves the operands room.
constexpr int kChains = 16;
}  // namespace

uint64_t read_sum_avx512(const void* p, size_t bytes) {
  const __m512i* v = static_cast<const __m512i*>(p);
  const size_t n = bytes / 64;
  __m512i s0 = _mm512_setzero_si512(), s1 = s0, s2 = s0, s3 = s0;
  for (size_t i = 0; i < n; i += 8) {
    s0 = _mm512_add_epi64(s0, _mm512_load_si512(v + i));
    s1 = _mm512_add_epi64(s1, _mm512_load_si512(v + i + 1));
    s2 = _mm512_add_epi64(s2, _mm512_load_si512(v + i + 2));
    s3 = _mm512_add_epi64(s3, _mm512_load_si512(v + i + 3));
    s0 = _mm512_add_epi64(s0, _mm512_load_si512(v + i + 4));
    s1 = _mm512_add_epi64(s1, _mm512_load_si512(v + i + 5));
    s2 = _mm512_add_epi64(s2, _mm512_load_si512(v + i + 6));
    s3 = _mm512_add_epi64(s3, _mm512_load_si512(v + i + 7));
  }
  const __m512i s = _mm512_add_epi64(_mm512_add_epi64(s0, s1), _mm512_add_epi64(s2, s3));
  const uint64_t r = static_cast<uint64_t>(_mm512_reduce_add_epi64(s));
  g_sink_u = r;
  return r;
}

double fma_zmm(int64_t iters) {
  __m512 acc[kChains];
  for (int k = 0; k < kChains; ++k) acc[k] = _mm512_set1_ps(0.5f + 0.01f * static_cast<float>(k));
  // acc = acc * a + b converges to b / (1 - a) ~ 1: no overflow, no subnormals.
  const __m512 a = _mm512_set1_ps(0.999f), b = _mm512_set1_ps(0.001f);
  for (int64_t i = 0; i < iters; ++i) {
#pragma GCC unroll 16
    for (int k = 0; k < kChains; ++k) acc[k] = _mm512_fmadd_ps(acc[k], a, b);
  }
  __m512 s = acc[0];
  for (int k = 1; k < kChains; ++k) s = _mm512_add_ps(s, acc[k]);
  g_sink_f = _mm512_reduce_add_ps(s);
  return static_cast<double>(iters) * kChains * 16 * 2;
}

double vnni_zmm(int64_t iters) {
  __m512i acc[kChains];
  for (int k = 0; k < kChains; ++k) acc[k] = _mm512_set1_epi32(k);
  const __m512i a = _mm512_set1_epi8(3), b = _mm512_set1_epi8(-5);  // int32 sums wrap harmlessly
  for (int64_t i = 0; i < iters; ++i) {
#pragma GCC unroll 16
    for (int k = 0; k < kChains; ++k) acc[k] = _mm512_dpbusd_epi32(acc[k], a, b);
  }
  __m512i s = acc[0];
  for (int k = 1; k < kChains; ++k) s = _mm512_add_epi32(s, acc[k]);
  g_sink_i = _mm512_reduce_add_epi32(s);
  return static_cast<double>(iters) * kChains * 64 * 2;
}

double bf16_zmm(int64_t iters) {
  __m512 acc[kChains];
  for (int k = 0; k < kChains; ++k) acc[k] = _mm512_set1_ps(static_cast<float>(k));
  // Products of 2^-10 grow each chain by 2^-19 per step: far from overflow or subnormals.
  const __m512bh a = _mm512_cvtne2ps_pbh(_mm512_set1_ps(0x1p-5f), _mm512_set1_ps(0x1p-5f));
  const __m512bh b = _mm512_cvtne2ps_pbh(_mm512_set1_ps(0x1p-5f), _mm512_set1_ps(0x1p-5f));
  for (int64_t i = 0; i < iters; ++i) {
#pragma GCC unroll 16
    for (int k = 0; k < kChains; ++k) acc[k] = _mm512_dpbf16_ps(acc[k], a, b);
  }
  __m512 s = acc[0];
  for (int k = 1; k < kChains; ++k) s = _mm512_add_ps(s, acc[k]);
  g_sink_f = _mm512_reduce_add_ps(s);
  return static_cast<double>(iters) * kChains * 32 * 2;
}

}  // namespace kcs::bench::probe
