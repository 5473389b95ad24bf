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

#include <cstdint>

#include "bench/limits_probes.h"

namespace kcs::bench::probe {

namespace {
#include "bench/limits_probe-inl.h"

thread_local volatile float g_sink_f;  // per thread: the probes run on every thread at once
thread_local volatile int g_sink_i;
thread_local volatile uint64_t g_sink_u;
// 16 chains: Zen 4/5 and Sapphire Rapids issue 2 per cycle with latency <= 5, so 10 would do;
// 16 of the 32 zmm registers leaves the operands room.
constexpr int kChains = 16;

auto add_ps = [](__m512 x, __m512 y) { return _mm512_add_ps(x, y); };
}  // namespace

uint64_t read_sum_avx512(const void* p, size_t bytes) {
  const __m512i s = sum_loads(static_cast<const __m512i*>(p), bytes / 64, _mm512_setzero_si512(),
                              [](const __m512i* q) { return _mm512_load_si512(q); },
                              [](__m512i x, __m512i y) { return _mm512_add_epi64(x, y); });
  const uint64_t r = static_cast<uint64_t>(_mm512_reduce_add_epi64(s));
  g_sink_u = r;
  return r;
}

double fma_zmm(int64_t iters) {
  // acc = acc * a + b converges to b / (1 - a) ~ 1: no overflow, no subnormals.
  const __m512 a = _mm512_set1_ps(0.999f), b = _mm512_set1_ps(0.001f);
  g_sink_f = _mm512_reduce_add_ps(run_chains<kChains, __m512>(
      iters, [](int k) { return _mm512_set1_ps(0.5f + 0.01f * static_cast<float>(k)); },
      [a, b](__m512 x) { return _mm512_fmadd_ps(x, a, b); }, add_ps));
  return static_cast<double>(iters) * kChains * 16 * 2;
}

double vnni_zmm(int64_t iters) {
  const __m512i a = _mm512_set1_epi8(3), b = _mm512_set1_epi8(-5);  // int32 sums wrap harmlessly
  g_sink_i = _mm512_reduce_add_epi32(run_chains<kChains, __m512i>(
      iters, [](int k) { return _mm512_set1_epi32(k); }, [a, b](__m512i x) { return _mm512_dpbusd_epi32(x, a, b); },
      [](__m512i x, __m512i y) { return _mm512_add_epi32(x, y); }));
  return static_cast<double>(iters) * kChains * 64 * 2;
}

double bf16_zmm(int64_t iters) {
  // Products of 2^-10 grow each chain by 2^-19 per step: far from overflow or subnormals.
  const __m512bh a = _mm512_cvtne2ps_pbh(_mm512_set1_ps(0x1p-5f), _mm512_set1_ps(0x1p-5f));
  const __m512bh b = _mm512_cvtne2ps_pbh(_mm512_set1_ps(0x1p-5f), _mm512_set1_ps(0x1p-5f));
  g_sink_f = _mm512_reduce_add_ps(run_chains<kChains, __m512>(
      iters, [](int k) { return _mm512_set1_ps(static_cast<float>(k)); },
      [a, b](__m512 x) { return _mm512_dpbf16_ps(x, a, b); }, add_ps));
  return static_cast<double>(iters) * kChains * 32 * 2;
}

}  // namespace kcs::bench::probe
