// The constants of the softmax pool's binary32 exp (2^(k/16) table reduction), shared by
// optimized/avx512/softmax_pool.cc and optimized/avx2/softmax_pool.cc so that both evaluate the
// same polynomial on the same reduction: one source for the AVX-512 == AVX2 bit identity.
// Internal linkage (see optimized/simd_scalar.h).
#pragma once

namespace kcs::opt {
namespace {

constexpr float kNegFill = -3.40282346638528859812e+38f;  // -FLT_MAX
constexpr float k16Log2e = 23.0831206542234f;  // 16 / ln 2
constexpr float kMagic = 12582912.0f;           // 1.5 * 2^23: t = x * 16/ln2 + kMagic holds rint(k) in its low bits
constexpr float kL16Hi = 0x1.62ep-5f;           // ln2 / 16 to 12 bits: k * kL16Hi is exact
constexpr float kL16Lo = 0x1.0bfbe8p-19f;       // ln2 / 16 - kL16Hi, rounded
constexpr float kC3 = 1.0f / 6;
constexpr float kExpLo = -104.0f, kExpHi = 88.75f;
alignas(64) const float kExpTab[16] = {
    0x1p+0f,           0x1.0b5586p+0f, 0x1.172b84p+0f, 0x1.2387a6p+0f, 0x1.306fep+0f,  0x1.3dea64p+0f,
    0x1.4bfdaep+0f,    0x1.5ab07ep+0f, 0x1.6a09e6p+0f, 0x1.7a1148p+0f, 0x1.8ace54p+0f, 0x1.9c4918p+0f,
    0x1.ae89fap+0f,    0x1.c199bep+0f, 0x1.d5818ep+0f, 0x1.ea4afap+0f};  // 2^(j/16), rounded

}  // namespace
}  // namespace kcs::opt
