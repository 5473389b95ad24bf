// BF16 GEMM conformance (spec §10.4 single-GEMM rule) plus the engine's own promises:
//   EngineMatchesDefinition  both ISA engines give exactly the bits of the chain that
//                            optimized/gemm_bf16.h defines (scalar std::fma emulation), for every
//                            k_block, tiling and output dtype; so AVX-512 == AVX2 bitwise
//   Avx512EqualsAvx2         the same on every catalog case through the backends
//   Vdpbf16psSemantics       vdpbf16ps on this CPU is the SDM's two FMAs, odd element first (the
//                            definition above relies on it), DAZ on inputs, FTZ on results
//   FtzAvoided               the automatic path keeps subnormal inputs / products / results that
//                            the forced vdpbf16ps path flushes (spec §10.7, §13)
//   StoreRowRounding         the BF16 / FP16 output casts equal kcs's nearest-even coders,
//                            subnormals, ties, overflow and every tail length included
//   ReferenceDotAgrees       the typed reference functions agree with each other
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "conformance/suites/suite.h"
#include "fixtures/generators/generators.h"
#include "kcs/formats.h"
#include "kcs/kernels/gemm_bf16.h"
#include "optimized/gemm_bf16.h"
#include "reference/primitives.h"

KCS_CONFORMANCE_SUITE(gemm_bf16)

namespace {

using kcs::DType;
using kcs::Isa;

std::vector<Isa> runnable_isas() {
  std::vector<Isa> v;
  for (Isa isa : {Isa::avx512, Isa::avx2})
    if (kcs::isa_missing(isa).empty()) v.push_back(isa);
  return v;
}

float bf(uint16_t b) { return kcs::bf16_to_float(b); }

// The definition in optimized/gemm_bf16.h, one element: pairs (2p, 2p+1), odd element first,
// std::fma (one rounding each); k_block blocks added in order.
float defined_sum(const uint16_t* a, const uint16_t* w, int64_t ldw, int64_t k, int64_t k_block) {
  auto chain = [&](int64_t k0, int64_t k1) {
    float acc = 0.0f;
    for (int64_t e = k0; e < k1; e += 2) {
      const float ao = e + 1 < k1 ? bf(a[e + 1]) : 0.0f, wo = e + 1 < k1 ? bf(w[(e + 1) * ldw]) : 0.0f;
      acc = std::fma(ao, wo, acc);
      acc = std::fma(bf(a[e]), bf(w[e * ldw]), acc);
    }
    return acc;
  };
  const int64_t kb = k_block > 0 ? (k_block + 1) / 2 * 2 : k;
  float total = chain(0, std::min(kb, k));
  for (int64_t k0 = kb; k0 < k; k0 += kb) total = total + chain(k0, std::min(k0 + kb, k));
  return total;
}

std::vector<uint16_t> random_bf16(kcs::Rng& rng, int64_t n, int exp_lo, int exp_hi) {
  std::vector<uint16_t> v(static_cast<size_t>(n));
  for (auto& x : v) x = kcs::bf16_from_double(std::ldexp(rng.normal(), exp_lo + static_cast<int>(rng.below(exp_hi - exp_lo + 1))));
  return v;
}

TEST(GemmBf16Engine, EngineMatchesDefinition) {
  const auto isas = runnable_isas();
  if (isas.empty()) GTEST_SKIP() << "no optimized variant runs on this CPU";
  kcs::Rng rng(7);
  struct Shape {
    int64_t b, m, k, n;
  };
  for (const Shape s : {Shape{1, 1, 1, 1}, Shape{1, 3, 15, 17}, Shape{2, 9, 64, 50}, Shape{1, 20, 333, 33},
                        Shape{3, 13, 200, 130}, Shape{1, 2, 1200, 40}, Shape{1, 37, 600, 400}}) {
    std::vector<uint16_t> a = random_bf16(rng, s.b * s.m * s.k, -6, 6);
    const std::vector<uint16_t> w = random_bf16(rng, s.b * s.k * s.n, -12, 0);
    // Every fourth row holds BF16 subnormals, so the AVX-512 engine mixes its two paths.
    for (int64_t r = 3; r < s.b * s.m; r += 4)
      for (int64_t kk = 0; kk < s.k; kk += 2) a[static_cast<size_t>(r * s.k + kk)] = static_cast<uint16_t>(1 + kk % 100);
    for (int64_t kb : {int64_t{0}, int64_t{2}, int64_t{7}, int64_t{64}}) {
      std::vector<float> want(static_cast<size_t>(s.b * s.m * s.n));
      for (int64_t b = 0; b < s.b; ++b)
        for (int64_t i = 0; i < s.m; ++i)
          for (int64_t j = 0; j < s.n; ++j)
            want[static_cast<size_t>((b * s.m + i) * s.n + j)] =
                defined_sum(a.data() + (b * s.m + i) * s.k, w.data() + b * s.k * s.n + j, s.n, s.k, kb);
      for (Isa isa : isas) {
        const kcs::opt::PackedBf16Weights packed = kcs::opt::pack_bf16_weights(w.data(), s.b, s.k, s.n, s.n, s.k * s.n, 1);
        for (DType dt : {DType::fp32, DType::bf16, DType::fp16}) {
          // Forced FMA: tiles of more than 16 rows take the wide AVX-512 kernel on every CPU (the
          // automatic path takes it only where vdpbf16ps is slow).
          for (const kcs::opt::Bf16Path path : {kcs::opt::Bf16Path::automatic, kcs::opt::Bf16Path::fma})
          for (const kcs::opt::GemmBf16Tiling t : {kcs::opt::GemmBf16Tiling{0, 0}, kcs::opt::GemmBf16Tiling{1, 16},
                                                   kcs::opt::GemmBf16Tiling{5, 17}}) {
            const size_t es = dt == DType::fp32 ? 4 : 2;
            std::vector<char> y(want.size() * es, 0x5A);
            kcs::opt::GemmBf16Args g;
            g.batch = s.b;
            g.m = s.m;
            g.k = s.k;
            g.n = s.n;
            g.a = a.data();
            g.lda = s.k;
            g.a_batch_stride = s.m * s.k;
            g.y = y.data();
            g.ldy = s.n;
            g.y_batch_stride = s.m * s.n;
            g.y_dtype = dt;
            g.k_block = kb;
            g.path = path;
            kcs::opt::gemm_bf16_run(isa, g, packed.view(), t, 2);
            int64_t bad = 0;
            for (size_t e = 0; e < want.size() && bad < 5; ++e) {
              uint32_t got = 0, exp = 0;
              if (dt == DType::fp32) {
                std::memcpy(&got, y.data() + e * 4, 4);
                exp = kcs::f32_bits(want[e]);
              } else {
                uint16_t g16;
                std::memcpy(&g16, y.data() + e * 2, 2);
                got = g16;
                exp = dt == DType::bf16 ? kcs::bf16_from_float(want[e]) : kcs::fp16_from_float(want[e]);
              }
              if (got != exp) {
                ++bad;
                ADD_FAILURE() << kcs::isa_name(isa) << " " << kcs::dtype_name(dt) << " B" << s.b << " M" << s.m << " K"
                              << s.k << " N" << s.n << " k_block " << kb << " m_tile " << t.m_tile << " n_tile "
                              << t.n_tile << (path == kcs::opt::Bf16Path::fma ? " fma" : "") << ": element " << e << " is 0x" << std::hex << got << ", the definition 0x"
                              << exp << std::dec;
              }
            }
          }
        }
      }
    }
  }
}

class GemmBf16Case : public testing::TestWithParam<kcs::suite::Param> {};

TEST_P(GemmBf16Case, Avx512EqualsAvx2) {
  const auto isas = runnable_isas();
  if (isas.size() < 2) GTEST_SKIP() << "needs both AVX-512 and AVX2 to run here";
  const kcs::KernelDecl& decl = kcs::kernel_or_throw("gemm_bf16");
  const kcs::Catalog& c = kcs::suite::catalog("gemm_bf16");
  const kcs::CaseSpec* cs = kcs::find_case(c, GetParam().case_id);
  ASSERT_NE(cs, nullptr);
  const kcs::Bundle& b = kcs::suite::bundle_for(*cs);
  auto avx512 = kcs::make_isa_backend(Isa::avx512);
  auto avx2 = kcs::make_isa_backend(Isa::avx2);
  for (const char* tile : {"default", "k_block=64", "k_block=7,m_tile=3"}) {
    const kcs::TileConfig t = kcs::TileConfig::parse(tile);
    kcs::suite::expect_same_outputs(decl, kcs::suite::call(decl, b, *avx512, t, 1),
                                    kcs::suite::call(decl, b, *avx2, t, 1), std::string("avx512 vs avx2, ") + tile);
  }
}

INSTANTIATE_TEST_SUITE_P(gemm_bf16, GemmBf16Case, testing::ValuesIn(kcs::suite::case_params("gemm_bf16")),
                         kcs::suite::param_name);

// y = a · w for one row and one column with K = 4 (two pairs), through the AVX-512 engine.
float dot4(const std::vector<uint16_t>& a, const std::vector<uint16_t>& w, kcs::opt::Bf16Path path) {
  const kcs::opt::PackedBf16Weights packed = kcs::opt::pack_bf16_weights(w.data(), 1, 4, 1, 1, 4, 1);
  float y = -1.0f;
  kcs::opt::GemmBf16Args g;
  g.m = 1;
  g.k = 4;
  g.n = 1;
  g.a = a.data();
  g.lda = 4;
  g.y = &y;
  g.ldy = 1;
  g.y_dtype = DType::fp32;
  g.path = path;
  kcs::opt::gemm_bf16_run(Isa::avx512, g, packed.view(), kcs::opt::GemmBf16Tiling{}, 1);
  return y;
}

TEST(GemmBf16Engine, Vdpbf16psSemantics) {
  if (!kcs::isa_missing(Isa::avx512).empty()) GTEST_SKIP() << "skipped: " << kcs::isa_missing(Isa::avx512);
  using P = kcs::opt::Bf16Path;
  // Order within a pair: after pair 0 the accumulator is 1; pair 1 has odd product 2^-24 and even
  // product -1. Odd first: 1 + 2^-24 rounds to 1, then 1 - 1 = 0. Even first would give 2^-24,
  // one exactly rounded dot of the pair 2^-24 too.
  const uint16_t one = 0x3F80, m_one = 0xBF80, p12 = 0x3980;  // 1, -1, 2^-12
  EXPECT_EQ(dot4({one, 0, m_one, p12}, {one, 0, one, p12}, P::dot), 0.0f)
      << "vdpbf16ps does not add the odd product first";
  EXPECT_EQ(dot4({one, 0, m_one, p12}, {one, 0, one, p12}, P::fma), 0.0f);
  // Random data without subnormals: vdpbf16ps == the FMA path == scalar std::fma, bit for bit.
  kcs::Rng rng(3);
  for (int i = 0; i < 5000; ++i) {
    const auto a = random_bf16(rng, 4, -20, 20), w = random_bf16(rng, 4, -20, 20);
    const float d = dot4(a, w, P::dot), f = dot4(a, w, P::fma);
    float want = std::fma(bf(a[0]), bf(w[0]), std::fma(bf(a[1]), bf(w[1]), 0.0f));
    want = std::fma(bf(a[2]), bf(w[2]), std::fma(bf(a[3]), bf(w[3]), want));
    ASSERT_EQ(kcs::f32_bits(d), kcs::f32_bits(want)) << "vdpbf16ps differs from the SDM definition, case " << i;
    ASSERT_EQ(kcs::f32_bits(f), kcs::f32_bits(want)) << "FMA path, case " << i;
  }
}

TEST(GemmBf16Engine, FtzAvoided) {
  if (!kcs::isa_missing(Isa::avx512).empty()) GTEST_SKIP() << "skipped: " << kcs::isa_missing(Isa::avx512);
  using P = kcs::opt::Bf16Path;
  const uint16_t one = 0x3F80, zero = 0;
  // A BF16 subnormal input (DAZ): 2^-133 * 1.
  const uint16_t sub = 0x0001;
  EXPECT_EQ(dot4({sub, zero, zero, zero}, {one, zero, zero, zero}, P::dot), 0.0f) << "vdpbf16ps no longer treats subnormal inputs as zero";
  EXPECT_EQ(dot4({sub, zero, zero, zero}, {one, zero, zero, zero}, P::automatic), std::ldexp(1.0f, -133));
  // A subnormal product and result of normal inputs (FTZ): 2^-64 * 2^-64 = 2^-128.
  const uint16_t p64 = 0x1F80;
  EXPECT_EQ(dot4({p64, zero, zero, zero}, {p64, zero, zero, zero}, P::dot), 0.0f) << "vdpbf16ps no longer flushes subnormal results";
  EXPECT_EQ(dot4({p64, zero, zero, zero}, {p64, zero, zero, zero}, P::automatic), std::ldexp(1.0f, -128));
  // The exactness rule sits exactly at products of 2^-126 granularity: 2^-56 * 2^-56 = 2^-112
  // (multiples of 2^-126: exact on vdpbf16ps), one binade lower it is refused.
  EXPECT_TRUE(kcs::opt::bf16_dot_exact(0x2380, 0x2380));   // 2^-56: exponent field 71, 71 + 71 = 142
  EXPECT_FALSE(kcs::opt::bf16_dot_exact(0x2300, 0x2380));  // 2^-57 x 2^-56
  EXPECT_FALSE(kcs::opt::bf16_dot_exact(0x007F, 0x7F00));  // subnormal row, whatever W is
  EXPECT_TRUE(kcs::opt::bf16_dot_exact(kcs::opt::kBf16AllZeroMag, 0x0080));
}

TEST(GemmBf16Engine, StoreRowRounding) {
  const auto isas = runnable_isas();
  if (isas.empty()) GTEST_SKIP() << "no optimized variant runs on this CPU";
  kcs::Rng rng(11);
  std::vector<float> v;
  const float inf = std::numeric_limits<float>::infinity();
  for (uint32_t u : {0x00000000u, 0x80000000u, 0x00000001u, 0x00008000u, 0x00018000u, 0x007FFFFFu, 0x00800000u,
                     0x3F808000u, 0x3F818000u, 0x3F80FFFFu, 0x7F7FFFFFu, 0x7F7F8000u, 0x7F7F7FFFu, 0xFF7FFFFFu,
                     0x477FF000u, 0x477FEFFFu, 0x33000000u, 0x33000001u, 0x387FE000u, 0x7FC00001u, 0xFF800001u})
    v.push_back(kcs::f32_from_bits(u));
  v.push_back(inf);
  v.push_back(-inf);
  for (int i = 0; i < 20000; ++i) {
    uint32_t u = static_cast<uint32_t>(rng.next());
    if (i % 3 == 0) u = (u & 0xFFFF0000u) | 0x8000u;  // exact BF16 ties
    if (i % 5 == 0) u &= 0x80FFFFFFu;                  // tiny: subnormal in BF16 / FP16
    v.push_back(kcs::f32_from_bits(u));
  }
  for (Isa isa : isas) {
    auto store = isa == Isa::avx512 ? &kcs::opt::gemm_bf16_store_row_avx512 : &kcs::opt::gemm_bf16_store_row_avx2;
    for (DType dt : {DType::bf16, DType::fp16, DType::fp32}) {
      for (int64_t n : {int64_t{1}, int64_t{7}, int64_t{8}, int64_t{15}, int64_t{17}, int64_t{33},
                        static_cast<int64_t>(v.size())}) {
        std::vector<uint32_t> out(static_cast<size_t>(n) + 8, 0xA5A5A5A5u);
        store(v.data(), n, dt, out.data());
        const char* bytes = reinterpret_cast<const char*>(out.data());
        for (int64_t i = 0; i < n; ++i) {
          const float x = v[static_cast<size_t>(i)];
          if (dt == DType::fp32) {
            uint32_t got;
            std::memcpy(&got, bytes + 4 * i, 4);
            ASSERT_EQ(got, kcs::f32_bits(x)) << kcs::isa_name(isa) << " fp32 element " << i;
            continue;
          }
          uint16_t got;
          std::memcpy(&got, bytes + 2 * i, 2);
          const uint16_t want = dt == DType::bf16 ? kcs::bf16_from_float(x) : kcs::fp16_from_float(x);
          if (std::isnan(x)) {
            EXPECT_TRUE(dt == DType::bf16 ? kcs::is_nan_bf16(got) : kcs::is_nan_fp16(got));
          } else {
            ASSERT_EQ(got, want) << kcs::isa_name(isa) << " " << kcs::dtype_name(dt) << " of 0x" << std::hex
                                 << kcs::f32_bits(x) << std::dec << " (element " << i << " of " << n << ")";
          }
        }
        // Nothing past the row is written.
        const size_t es = dt == DType::fp32 ? 4 : 2;
        for (size_t byte = static_cast<size_t>(n) * es; byte < out.size() * 4; ++byte)
          ASSERT_EQ(static_cast<unsigned char>(bytes[byte]), 0xA5) << "write past the row, n = " << n;
      }
    }
  }
}

TEST(GemmBf16Reference, ReferenceDotAgrees) {
  kcs::Rng rng(5);
  const int64_t m = 3, k = 37, n = 5;
  const auto a = random_bf16(rng, m * k, -3, 3), w = random_bf16(rng, k * n, -3, 3);
  kcs::GemmBf16RefArgs g;
  g.m = m;
  g.k = k;
  g.n = n;
  g.a = a.data();
  g.lda = k;
  g.w = w.data();
  g.ldw = n;
  std::vector<double> y(static_cast<size_t>(m * n)), abs_dot(y.size());
  kcs::gemm_bf16_reference(g, 0, m, y.data(), n, abs_dot.data(), n);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      const kcs::Bf16Dot d = kcs::gemm_bf16_dot_reference(a.data() + i * k, w.data() + j, n, k);
      EXPECT_EQ(d.value, y[static_cast<size_t>(i * n + j)]);
      EXPECT_EQ(d.abs_dot, abs_dot[static_cast<size_t>(i * n + j)]);
      double exact_abs = 0;
      for (int64_t kk = 0; kk < k; ++kk) exact_abs += std::fabs(double(bf(a[i * k + kk])) * bf(w[kk * n + j]));
      EXPECT_EQ(d.abs_dot, exact_abs);
    }
}

}  // namespace
