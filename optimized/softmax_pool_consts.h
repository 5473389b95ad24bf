// The constants of the softmax pool's binary32 exp (2^(k/16) table reduction), shared by
// optimized/avx512/softmax_pool.cc and optimized/avx2/softmax_pool.cc so that both evaluate the
// same polynomial on the same reduction: one source for the AVX-512 == AVX2 bit identity.
// Internal linkage (see optimized/simd_scalar.h).
#pragma once

namespace kcs::opt {
namespace {

constexpr float kNegFill = -3.40282346638528859812e+38f;  // -FLT_MAX
// t = x·log2e + kMagic (one rounding, to 1/16: 1.5·2^19 has 4 fraction bits) is kMagic + k/16 with
// k = rint(x·16/ln2), k mod 16 in its low 4 bits; k/16 = t - kMagic exactly, so k/16 serves the
// reduction and the scaling without a multiply by 1/16 (the same k as rounding x·16/ln2 onto
// 1.5·2^23, since both constants are 16x these).
constexpr float kLog2e = 23.0831206542234f / 16;  // (16 / ln 2) / 16, exact
constexpr float kMagic = 786432.0f;               // 1.5 * 2^19
constexpr float kLn2Hi = 0x1.62ep-1f;             // ln2 to 12 bits: (k/16) * kLn2Hi is exact
constexpr float kLn2Lo = 0x1.0bfbe8p-15f;         // ln2 - kLn2Hi, rounded
constexpr float kC3 = 1.0f / 6;
constexpr float kExpLo = -104.0f, kExpHi = 88.75f;
alignas(64) const float kExpTab[16] = {
    0x1p+0f,           0x1.0b5586p+0f, 0x1.172b84p+0f, 0x1.2387a6p+0f, 0x1.306fep+0f,  0x1.3dea64p+0f,
    0x1.4bfdaep+0f,    0x1.5ab07ep+0f, 0x1.6a09e6p+0f, 0x1.7a1148p+0f, 0x1.8ace54p+0f, 0x1.9c4918p+0f,
    0x1.ae89fap+0f,    0x1.c199bep+0f, 0x1.d5818ep+0f, 0x1.ea4afap+0f};  // 2^(j/16), rounded

}  // namespace
}  // namespace kcs::opt
