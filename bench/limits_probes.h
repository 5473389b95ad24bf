// Per-ISA probe kernels behind kcs::bench::measure_limits (bench/limits.cc). Each file that
// defines them is compiled with its own ISA flags only, and limits.cc calls a probe only when
// kcs::cpu_features() says the CPU runs it.
//
// Every compute probe runs `iters` iterations of independent dependency chains (enough of them
// to cover latency x throughput on current cores), stores a value that depends on every chain
// into a volatile sink so nothing is optimised away, and returns the number of operations it
// performed: 2 per fp32 FMA lane, 2 per int8 product (vpdpbusd), 2 per bf16 product (vdpbf16ps).
#pragma once

#include <cstddef>
#include <cstdint>

namespace kcs::bench::probe {

// Sum of the 64-bit words of [p, p + bytes); p is 64-byte aligned and bytes a multiple of 512.
// The value is meaningless: it only keeps every load alive.
uint64_t read_sum_avx512(const void* p, size_t bytes);
uint64_t read_sum_avx2(const void* p, size_t bytes);

double fma_zmm(int64_t iters);   // AVX-512F
double fma_ymm(int64_t iters);   // AVX2 + FMA
double vnni_zmm(int64_t iters);  // AVX512-VNNI
double bf16_zmm(int64_t iters);  // AVX512-BF16
double amx_int8(int64_t iters);  // AMX-INT8 (tdpbssd; the process has tile data: kcs/cpu.h)
// AVX-VNNI (VEX vpdpbusd on ymm). Returns 0 without running anything when the compiler could not
// build the probe (KCS_BENCH_NO_AVXVNNI).
double vnni_ymm(int64_t iters);

}  // namespace kcs::bench::probe
