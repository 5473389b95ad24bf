// NVFP4 quantizer conformance (spec §6.3): x_fp4 and x_sf bit-exact against the reference over
// the catalog, plus kernel-specific tests:
//   * K not a multiple of 128 (and K = 0) is rejected, naming K, with nothing written (spec §9;
//     K = 200 cannot be a catalog expect_error case because its x_sf shape K/64 does not exist);
//   * the spec §10.6 vectors through every backend;
//   * a differential test of the SIMD row kernels against nvfp4_row_reference on adversarial bit
//     patterns (random payload NaNs, signalling NaNs, +-Inf, +-0, subnormals, exact ties at many
//     scales, overflow amaxes), every dtype and mode, strided rows and partial block ranges, with
//     canaries around the outputs.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "conformance/suites/suite.h"
#include "kcs/formats.h"
#include "kcs/kernels/nvfp4_quant.h"
#include "optimized/nvfp4_quant.h"
#include "optimized/variants.h"
#include "reference/primitives.h"

KCS_CONFORMANCE_SUITE(nvfp4_quant)

namespace kcs {
namespace {

Problem problem(int64_t m, int64_t k, const std::string& x_dtype = "bfloat16", const std::string& ties = "away",
                const std::string& sat = "0") {
  Problem p;
  p.kernel = "nvfp4_quant";
  p.dims = {{"M", m}, {"K", k}};
  p.attrs = {{"x_dtype", x_dtype}, {"e2m1_ties", ties}, {"saturate_scale", sat}};
  return p;
}

// Tensors for a call, built by hand so that shapes the declaration cannot express (K = 200) can
// be handed to a backend. Outputs are poisoned.
TensorMap raw_tensors(int64_t m, int64_t k) {
  TensorMap t;
  t.emplace("x", Tensor(DType::bf16, {m, k}));
  t.emplace("x_fp4", Tensor(DType::e2m1x2, {m, k / 2}));
  t.emplace("x_sf", Tensor(DType::ue4m3x4, {m, k / 64}));
  t.at("x_fp4").fill_bytes(0xA5);
  t.at("x_sf").fill_bytes(0xA5);
  return t;
}

TEST(Nvfp4Quant, RejectsKNotAMultipleOf128) {
  const KernelDecl& decl = kernel_or_throw("nvfp4_quant");
  for (int64_t k : {200, 192, 64, 0}) {
    const Problem p = problem(3, k);
    const Status v = validate_problem(decl, p);
    ASSERT_FALSE(v.ok) << "K = " << k;
    EXPECT_NE(v.message.find("K = " + std::to_string(k)), std::string::npos) << v.message;
    for (const auto& be : builtin_backends()) {
      if (!be->availability().runnable) continue;
      TensorMap t = raw_tensors(3, k);
      const TensorMap before = t;
      Invocation inv{&decl, &p, &t, TileConfig{}, 1};
      const Status s = be->run(inv);
      EXPECT_FALSE(s.ok) << be->name() << " accepted K = " << k;
      EXPECT_NE(s.message.find("K = " + std::to_string(k)), std::string::npos) << be->name() << ": " << s.message;
      for (const auto& [name, tensor] : t)
        EXPECT_TRUE(tensor.same_bytes(before.at(name))) << be->name() << " wrote " << name << " for K = " << k;
    }
  }
}

TEST(Nvfp4Quant, RejectsBadBlockKnob) {
  const KernelDecl& decl = kernel_or_throw("nvfp4_quant");
  const Problem p = complete_problem(decl, problem(2, 256));
  for (Isa isa : {Isa::avx512, Isa::avx2}) {
    auto be = make_isa_backend(isa);
    if (!be->availability().runnable) continue;
    TensorMap t = raw_tensors(2, 256);
    const TensorMap before = t;
    Invocation inv{&decl, &p, &t, TileConfig::parse("block_k=100"), 1};
    const Status s = be->run(inv);
    EXPECT_FALSE(s.ok);
    EXPECT_NE(s.message.find("block_k = 100"), std::string::npos) << s.message;
    EXPECT_TRUE(t.at("x_fp4").same_bytes(before.at("x_fp4")));
  }
}

// Spec §10.6 through the public backend API: amax 6 gives scale byte 0x38 and inv 1, and the
// tie inputs code as listed; amax 6.375 / 7.125 give scale bytes 0x38 / 0x3A.
TEST(Nvfp4Quant, Spec10_6VectorsOnEveryBackend) {
  const KernelDecl& decl = kernel_or_throw("nvfp4_quant");
  const float ties[] = {6.0f, 0.25f, 1.25f, 2.5f, 5.0f, -0.25f, -0.1f};
  const uint8_t away[] = {0x7, 0x1, 0x3, 0x5, 0x7, 0x9, 0x8};
  const uint8_t even[] = {0x7, 0x0, 0x2, 0x4, 0x6, 0x8, 0x8};
  for (const char* mode : {"away", "even"}) {
    const Problem p = complete_problem(decl, problem(1, 128, "bfloat16", mode));
    int ran = 0;
    for (const auto& be : builtin_backends()) {
      if (!be->availability().runnable) continue;
      ++ran;
      TensorMap t = raw_tensors(1, 128);
      uint16_t* x = t.at("x").data<uint16_t>();
      for (int j = 0; j < 7; ++j) x[j] = bf16_from_float(ties[j]);
      x[16] = bf16_from_float(6.375f);
      x[32] = bf16_from_float(-7.125f);
      Invocation inv{&decl, &p, &t, TileConfig{}, 1};
      ASSERT_TRUE(be->run(inv).ok) << be->name();
      const uint8_t* fp4 = t.at("x_fp4").data<uint8_t>();
      const uint32_t sf0 = static_cast<uint32_t>(t.at("x_sf").data<int32_t>()[0]);
      EXPECT_EQ(sf0 & 0xFF, 0x38u) << be->name();
      EXPECT_EQ((sf0 >> 8) & 0xFF, 0x38u) << be->name();
      EXPECT_EQ((sf0 >> 16) & 0xFF, 0x3Au) << be->name();
      for (int j = 0; j < 7; ++j) {
        const uint8_t c = static_cast<uint8_t>((j % 2) ? fp4[j / 2] >> 4 : fp4[j / 2] & 0xF);
        EXPECT_EQ(c, std::string(mode) == "away" ? away[j] : even[j]) << be->name() << " " << mode << " element " << j;
      }
    }
    EXPECT_GE(ran, 2);
  }
}

// Adversarial bit patterns for the SIMD differential test.
uint32_t adversarial_f32(std::mt19937_64& gen) {
  const uint64_t r = gen();
  const uint32_t sign = (r & 1) ? 0x80000000u : 0u;
  const uint32_t payload = static_cast<uint32_t>(r >> 8) & 0x7FFFFFu;
  switch ((r >> 1) % 16) {
    case 0: return sign | 0x7F800000u | (payload | 1u);  // NaN, any payload (signalling too)
    case 1: return sign | 0x7F800000u;                    // +-Inf
    case 2: return sign;                                  // +-0
    case 3: return sign | payload;                        // subnormal
    case 4: {                                             // an E2M1 midpoint or value times 2^s
      static const float kT[] = {0.25f, 0.75f, 1.25f, 1.75f, 2.5f, 3.5f, 5.0f, 6.0f, 0.5f, 4.0f};
      const float v = std::ldexp(kT[(r >> 8) % 10], static_cast<int>((r >> 16) % 17) - 8);
      return sign | f32_bits(v);
    }
    case 5: {  // around the overflow edges
      static const float kA[] = {2688.0f, 2784.0f, 2785.0f, 2800.0f, 2880.0f, 2881.0f, 3000.0f, 1e5f, 3e38f};
      return sign | f32_bits(kA[(r >> 8) % 9]);
    }
    case 6: return sign | (static_cast<uint32_t>(112 + (r >> 40) % 20) << 23) | payload;  // near the floor
    default: return sign | (static_cast<uint32_t>(100 + (r >> 40) % 50) << 23) | payload;  // 2^-27 .. 2^22
  }
}

// The optimized kernel's ISA variants this CPU runs (optimized/nvfp4_quant.h, kNvfp4QuantVariants).
using SimdVariant = opt::Nvfp4QuantVariant;
std::vector<SimdVariant> runnable_variants() { return opt::runnable_variants(opt::kNvfp4QuantVariants); }

TEST(Nvfp4Quant, SimdMatchesReferenceOnAdversarialBits) {
  const auto variants = runnable_variants();
  if (variants.empty()) GTEST_SKIP() << "skipped: no optimized variant runs on this CPU";
  std::mt19937_64 gen(2024);
  const int64_t rows = 7, k = 1024, stride = k + 48;  // a row stride wider than the row
  constexpr uint8_t kCanary = 0xC3;
  int64_t blocks_checked = 0;
  for (DType dt : {DType::bf16, DType::fp16, DType::fp32})
    for (E2m1Ties ties : {E2m1Ties::away, E2m1Ties::even})
      for (bool sat : {false, true})
        for (int trial = 0; trial < 6; ++trial) {
          const size_t esize = dtype_size(dt);
          std::vector<uint8_t> x(static_cast<size_t>(rows * stride) * esize);
          std::vector<float> wide(static_cast<size_t>(rows * k));
          for (int64_t r = 0; r < rows; ++r)
            for (int64_t j = 0; j < stride; ++j) {
              // Mostly ordinary values, with the adversarial ones dense in some groups.
              uint32_t b = adversarial_f32(gen);
              if (trial % 2 == 0 && (gen() % 8) != 0) b = f32_bits(static_cast<float>(std::ldexp(
                                                            static_cast<double>(gen() % 2001) - 1000.0, -8)));
              uint8_t* dst = x.data() + static_cast<size_t>(r * stride + j) * esize;
              if (dt == DType::fp32) {
                std::memcpy(dst, &b, 4);
              } else {
                // 16-bit patterns straight from the top half (BF16) or from a random draw (FP16),
                // so NaN payloads and subnormals of the 16-bit format are covered too.
                const uint16_t h = dt == DType::bf16 ? static_cast<uint16_t>(b >> 16)
                                                     : static_cast<uint16_t>((b >> 16 & 0x8000u) | (b & 0x7FFFu));
                std::memcpy(dst, &h, 2);
              }
            }
          for (int64_t r = 0; r < rows; ++r)
            nvfp4_widen(x.data() + static_cast<size_t>(r * stride) * esize, dt, k, wide.data() + r * k);
          Nvfp4Params p;
          p.ties = ties;
          p.saturate_scale = sat;
          std::vector<uint8_t> ref_fp4(static_cast<size_t>(rows * k / 2));
          std::vector<int32_t> ref_sf(static_cast<size_t>(rows * k / 64));
          for (int64_t r = 0; r < rows; ++r)
            nvfp4_row_reference(wide.data() + r * k, k, p, ref_fp4.data() + r * k / 2, ref_sf.data() + r * k / 64);
          for (const SimdVariant& var : variants) {
            // Outputs with 64 canary bytes on both sides; blocks [kb0, kb1) of rows [r0, r1) only.
            std::vector<uint8_t> fp4(ref_fp4.size() + 128, kCanary);
            std::vector<int32_t> sf(ref_sf.size() + 32);
            std::memset(sf.data(), kCanary, sf.size() * 4);
            opt::Nvfp4Rows a;
            a.x = x.data();
            a.x_dtype = dt;
            a.x_stride = stride;
            a.k = k;
            a.params = p;
            a.x_fp4 = fp4.data() + 64;
            a.x_sf = sf.data() + 16;
            const int64_t r0 = trial % 3, r1 = rows - trial % 2, kb0 = trial % 4, kb1 = k / 128 - trial % 3;
            var.quant(a, r0, r1, kb0, kb1);
            for (int64_t r = 0; r < rows; ++r)
              for (int64_t kb = 0; kb < k / 128; ++kb) {
                const bool inside = r >= r0 && r < r1 && kb >= kb0 && kb < kb1;
                const uint8_t* got = a.x_fp4 + r * k / 2 + kb * 64;
                const uint8_t* got_sf = reinterpret_cast<const uint8_t*>(a.x_sf + r * k / 64 + kb * 2);
                if (!inside) {
                  for (int i = 0; i < 64; ++i) ASSERT_EQ(got[i], kCanary) << "wrote outside its range";
                  for (int i = 0; i < 8; ++i) ASSERT_EQ(got_sf[i], kCanary) << "wrote outside its range";
                  continue;
                }
                ++blocks_checked;
                const uint8_t* want = ref_fp4.data() + r * k / 2 + kb * 64;
                const uint8_t* want_sf = reinterpret_cast<const uint8_t*>(ref_sf.data() + r * k / 64 + kb * 2);
                for (int i = 0; i < 8; ++i)
                  ASSERT_EQ(got_sf[i], want_sf[i]) << isa_name(var.isa) << " " << dtype_name(dt) << " sat " << sat
                                                   << " row " << r << " block " << kb << " group " << i;
                for (int i = 0; i < 64; ++i)
                  ASSERT_EQ(got[i], want[i]) << isa_name(var.isa) << " " << dtype_name(dt) << " ties "
                                             << (ties == E2m1Ties::away ? "away" : "even") << " sat " << sat
                                             << " row " << r << " block " << kb << " byte " << i << " (elements "
                                             << wide[static_cast<size_t>(r * k + kb * 128 + 2 * i)] << ", "
                                             << wide[static_cast<size_t>(r * k + kb * 128 + 2 * i + 1)] << ")";
              }
            for (int i = 0; i < 64; ++i) {
              ASSERT_EQ(fp4[static_cast<size_t>(i)], kCanary);
              ASSERT_EQ(fp4[fp4.size() - 1 - static_cast<size_t>(i)], kCanary);
            }
            for (int i = 0; i < 16; ++i) {
              ASSERT_EQ(static_cast<uint32_t>(sf[static_cast<size_t>(i)]), 0xC3C3C3C3u);
              ASSERT_EQ(static_cast<uint32_t>(sf[sf.size() - 1 - static_cast<size_t>(i)]), 0xC3C3C3C3u);
            }
          }
        }
  EXPECT_GT(blocks_checked, 1000);
}

}  // namespace
}  // namespace kcs
