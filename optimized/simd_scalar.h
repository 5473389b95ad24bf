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

// GCC 12's intrinsic headers initialise "undefined" vectors as `__m512i __Y = __Y;`, which C++
// -Wall (it implies -Winit-self) reports as uninitialised at every inlined use (GCC PR 105593).
// The locations are inside the header, so silencing them around the include is enough.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop

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

// Two BF16 values as one unaligned 32-bit load.
inline uint32_t load_u32(const uint16_t* p) {
  uint32_t u;
  std::memcpy(&u, p, sizeof u);
  return u;
}

// Hints to bring p's cache line into L1 (prefetcht0) / L2 (prefetcht1); never fault.
inline void prefetch_l1(const void* p) { _mm_prefetch(static_cast<const char*>(p), _MM_HINT_T0); }
inline void prefetch_l2(const void* p) { _mm_prefetch(static_cast<const char*>(p), _MM_HINT_T1); }
// Orders the weakly ordered (non-temporal) stores before any later store (sfence).
inline void stream_fence() { _mm_sfence(); }

inline int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }
inline int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }

// fp16(s) rounded to nearest even by F16C (in both ISA flag sets). vcvtps2ph with an immediate
// rounding mode ignores MXCSR.RC and produces FP16 subnormals; a NaN is replaced by kcs's
// canonical sign|0x7E00 because the instruction keeps payload bits that fp16_from_float drops.
inline uint16_t fp16_rne(float s) {
  const uint32_t u = bits_of(s);
  if ((u & 0x7FFFFFFFu) > 0x7F800000u) return static_cast<uint16_t>(((u >> 16) & 0x8000u) | 0x7E00u);
  return static_cast<uint16_t>(_cvtss_sh(s, _MM_FROUND_TO_NEAREST_INT));
}

}  // namespace
}  // namespace kcs::opt
