// ISA-neutral scalar helpers for the per-ISA files (optimized/avx512, optimized/avx2), and the
// macro that names an entry point after the ISA of the translation unit including it.
//
// Only ISA translation units include this (through their avx512/simd.h or avx2/simd.h). Every
// function has internal linkage: an inline function with external linkage compiled here with
// AVX-512 flags could be the copy the linker keeps for the whole program (the isa_objects test
// fails on any weak symbol), and the kcs headers' inline helpers are not called for that reason.
#pragma once

#include <cstdint>
#include <cstring>

// KCS_ISA_FN(q8_rows) is q8_rows_avx512 or q8_rows_avx2, by the KCS_ISA of the including file.
#define KCS_ISA_CAT2(a, b) a##_##b
#define KCS_ISA_CAT(a, b) KCS_ISA_CAT2(a, b)
#define KCS_ISA_FN(name) KCS_ISA_CAT(name, KCS_ISA)

namespace kcs::opt {
namespace {

inline uint32_t bits_of(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
}

inline float float_of(uint32_t u) {
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

inline int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }
inline int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }

}  // namespace
}  // namespace kcs::opt
