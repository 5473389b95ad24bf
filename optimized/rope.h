// RoPE SIMD token kernels, one per ISA (optimized/avx512/rope.cc, optimized/avx2/rope.cc).
//
// Both evaluate the kernels' binary32 formula element by element (spec §1.3), so AVX-512, AVX2
// and a scalar binary32 emulation give identical bits:
//   R-HALF / R-V2 (after de-interleaving): y_j = (x_j ⊗ c_j) ⊕ (r_j ⊗ s_j),
//       r_j = −x_{j+h} for j < h,  r_j = x_{j−h} ⊕ (+0) for j ≥ h  (the source's "x1 + 0.0");
//   R-PAIR: y_{2p} = (x_{2p} ⊗ c_p) ⊖ (x_{2p+1} ⊗ s_p),  y_{2p+1} = (x_{2p} ⊗ s_p) ⊕ (x_{2p+1} ⊗ c_p);
// then BF16 round-to-nearest-even (integer rounding, subnormals kept). No FMA. Columns outside
// the rope slice are copied. Tokens are independent: token tiling and threads change no bit.
#pragma once

#include <cstdint>

#include "kcs/cpu.h"
#include "kcs/kernels/rope.h"

namespace kcs::opt {

struct RopeArgs {
  const uint16_t* x = nullptr;  // [T, H, D] BF16
  uint16_t* y = nullptr;        // [T, H, D] BF16
  int64_t H = 0, D = 0, R = 0;
  // Element strides between tokens and heads; 0 = dense [T, H, D]. Fused kernels rotate slices of
  // a wider buffer in place (K2: the rope columns of qb straight into query_rope_out).
  int64_t x_tok = 0, x_head = 0, y_tok = 0, y_head = 0;
  int64_t off = 0;              // first rope column (0 or D - R)
  RopeMode mode = RopeMode::half;
  const void* cos = nullptr;    // [T, W] BF16 patterns or FP32
  const void* sin = nullptr;
  bool table_f32 = false;
  bool half_table = false;      // W = R/2 (else W = R)
};

// Tokens [begin, end).
void rope_tokens_avx512(const RopeArgs& a, int64_t begin, int64_t end);
void rope_tokens_avx2(const RopeArgs& a, int64_t begin, int64_t end);

// ISA variants, best first (optimized/variants.h).
struct RopeVariant {
  Isa isa;
  decltype(&rope_tokens_avx2) tokens;
};
inline constexpr RopeVariant kRopeVariants[] = {
    {Isa::avx512, &rope_tokens_avx512},
    {Isa::avx2, &rope_tokens_avx2},
};

}  // namespace kcs::opt
