// K4 NVFP4 staging conformance (spec §6): every output bit-exact against the reference over the
// catalog in every mode, each fused case's quantize stage against nvfp4_quant (tier A), plus:
//   * bad input (spec §6.2 / §9): K not a multiple of 128, topk_weights shaped unlike topk_ids,
//     a bad block_k knob: a clear error naming the tensor or dim, nothing written; M = 0: no-op;
//   * the spec §10.6 K4 vectors and the §6.4 overflow / underflow / Inf behaviours as unit tests
//     on every backend;
//   * a decode property test: x_fp4 decoded with x_sf reproduces hidden_states within the NVFP4
//     quantization bound for in-range blocks (scale within half an E4M3 ulp of amax/6, every code
//     a nearest E2M1 value of v/ŝ, |v/ŝ| <= 6.4);
//   * a textbook cross-check: `even` codes equal round-to-nearest-even E2M1 (kcs::e2m1_from_float,
//     Round::rint) of the scaled element, `away` codes equal ties-away (Round::rhaz), and in-range
//     scale bytes equal the correctly rounded saturating E4M3 of amax/6;
//   * the SIMD top-k copies against the reference with canaries, every length and row range.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "conformance/suites/suite.h"
#include "kcs/formats.h"
#include "kcs/kernels/nvfp4_stage.h"
#include "optimized/nvfp4_stage.h"
#include "optimized/variants.h"
#include "reference/primitives.h"

KCS_CONFORMANCE_SUITE(nvfp4_stage)
KCS_STAGE_SUITE(nvfp4_stage)

namespace kcs {
namespace {

Problem problem(int64_t m, int64_t k, int64_t top_k, const std::string& x_dtype = "bfloat16",
                const std::string& ties = "away", const std::string& sat = "0", const std::string& ids = "int32") {
  Problem p;
  p.kernel = "nvfp4_stage";
  p.dims = {{"M", m}, {"K", k}, {"top_k", top_k}};
  p.attrs = {{"x_dtype", x_dtype}, {"ids_dtype", ids}, {"e2m1_ties", ties}, {"saturate_scale", sat}};
  return p;
}

// Tensors built by hand so that shapes the declaration cannot express (K = 200, mismatched top-k
// shapes) can be handed to a backend. Outputs are poisoned.
TensorMap raw_tensors(int64_t m, int64_t k, int64_t top_k, int64_t weights_top_k, DType x_dtype = DType::bf16) {
  TensorMap t;
  t.emplace("hidden_states", Tensor(x_dtype, {m, k}));
  t.emplace("topk_ids", Tensor(DType::i32, {m, top_k}));
  t.emplace("topk_weights", Tensor(DType::fp32, {m, weights_top_k}));
  t.emplace("x_fp4", Tensor(DType::e2m1x2, {m, k / 2}));
  t.emplace("x_sf", Tensor(DType::ue4m3x4, {m, k / 64}));
  t.emplace("topk_idx_out", Tensor(DType::i64, {m, top_k}));
  t.emplace("topk_weights_out", Tensor(DType::fp32, {m, top_k}));
  for (const char* o : {"x_fp4", "x_sf", "topk_idx_out", "topk_weights_out"}) t.at(o).fill_bytes(0xA5);
  return t;
}

// Runs every runnable backend on a copy of `t`; each must fail with `needle` in its message and
// leave every tensor as it was.
void expect_rejected(const Problem& p, const TensorMap& t, const std::string& needle, const TileConfig& tile = {}) {
  const KernelDecl& decl = kernel_or_throw("nvfp4_stage");
  int ran = 0;
  for (const auto& be : builtin_backends()) {
    if (!be->availability().runnable) continue;
    ++ran;
    TensorMap mine = t;
    Invocation inv{&decl, &p, &mine, tile, 1};
    const Status s = be->run(inv);
    EXPECT_FALSE(s.ok) << be->name() << " accepted it";
    EXPECT_NE(s.message.find(needle), std::string::npos) << be->name() << ": " << s.message;
    for (const auto& [name, tensor] : mine)
      EXPECT_TRUE(tensor.same_bytes(t.at(name))) << be->name() << " wrote " << name;
  }
  EXPECT_GE(ran, 2);
}

TEST(Nvfp4Stage, RejectsKNotAMultipleOf128) {
  const KernelDecl& decl = kernel_or_throw("nvfp4_stage");
  for (int64_t k : {200, 192, 64, 0}) {
    const Problem p = problem(3, k, 6);
    const Status v = validate_problem(decl, p);
    ASSERT_FALSE(v.ok) << "K = " << k;
    EXPECT_NE(v.message.find("K = " + std::to_string(k)), std::string::npos) << v.message;
    expect_rejected(p, raw_tensors(3, k, 6, 6), "K = " + std::to_string(k));
  }
}

// Spec §6.2: topk_weights.shape != topk_ids.shape is a ValueError. Both are declared [M, top_k],
// so validate_call rejects the odd one out by name.
TEST(Nvfp4Stage, RejectsTopkShapeMismatch) {
  const KernelDecl& decl = kernel_or_throw("nvfp4_stage");
  const Problem p = complete_problem(decl, problem(3, 256, 6));
  expect_rejected(p, raw_tensors(3, 256, 6, 5), "tensor 'topk_weights' has shape [3, 5], expected [3, 6]");
  TensorMap t = raw_tensors(3, 256, 6, 6);
  t.at("topk_ids") = Tensor(DType::i32, {3, 8});
  expect_rejected(p, t, "tensor 'topk_ids' has shape [3, 8], expected [3, 6]");
  t = raw_tensors(3, 256, 6, 6);
  t.at("topk_ids") = Tensor(DType::i64, {3, 6});  // int64 storage while ids_dtype says int32
  expect_rejected(p, t, "tensor 'topk_ids' has dtype int64, expected int32");
}

TEST(Nvfp4Stage, RejectsBadBlockKnob) {
  const KernelDecl& decl = kernel_or_throw("nvfp4_stage");
  const Problem p = complete_problem(decl, problem(2, 256, 6));
  for (Isa isa : {Isa::avx512, Isa::avx2}) {
    auto be = make_isa_backend(isa);
    if (!be->availability().runnable) continue;
    for (const char* knob : {"block_k=100", "row_tile=-1"}) {
      TensorMap t = raw_tensors(2, 256, 6, 6);
      const TensorMap before = t;
      Invocation inv{&decl, &p, &t, TileConfig::parse(knob), 1};
      const Status s = be->run(inv);
      EXPECT_FALSE(s.ok) << knob;
      EXPECT_NE(s.message.find(std::string(knob).replace(std::string(knob).find('='), 1, " = ")), std::string::npos)
          << s.message;
      for (const auto& [name, tensor] : t) EXPECT_TRUE(tensor.same_bytes(before.at(name))) << knob << " wrote " << name;
    }
  }
}

TEST(Nvfp4Stage, EmptyIsANoOp) {
  const KernelDecl& decl = kernel_or_throw("nvfp4_stage");
  const Problem p = complete_problem(decl, problem(0, 7168, 6));
  for (const auto& be : builtin_backends()) {
    if (!be->availability().runnable) continue;
    TensorMap t = raw_tensors(0, 7168, 6, 6);
    Invocation inv{&decl, &p, &t, TileConfig{}, 2};
    const Status s = be->run(inv);
    EXPECT_TRUE(s.ok) << be->name() << ": " << s.message;
  }
}

uint8_t code_at(const Tensor& fp4, int64_t row, int64_t j) {
  const uint8_t b = fp4.data<uint8_t>()[row * fp4.row_len() + j / 2];
  return static_cast<uint8_t>((j % 2) ? b >> 4 : b & 0xFu);
}

uint8_t sf_at(const Tensor& sf, int64_t row, int64_t g) {
  return static_cast<uint8_t>(static_cast<uint32_t>(sf.data<int32_t>()[row * sf.row_len() + g / 4]) >> (8 * (g % 4)));
}

// Spec §10.6 (K4) and §6.4 through the public backend API, FP32 input so that every amax is held
// exactly (BF16 has no 2785). Row 0, one group each:
//   g0  E2M1 ties at amax 6 (byte 0x38, inv 1): 0.25, 1.25, 2.5, 5.0, -0.25, -0.1 -> 1,3,5,7,9,8
//   g1  amax 6.375 -> 0x38      g2  amax 7.125 -> 0x3A      g3  amax 6 * 2^-10 -> 0 (ŝ = 0)
//   g4  amax 2688 -> 0x7E       g5  amax 2784 (scale 464, a tie to even) -> 0x7E
//   g6  amax 2785 -> 0x7F (decodes to 480; saturate_scale: 0x7E)
//   g7  amax 3000 -> exponent clamp, 0x78 (ŝ = 256; saturate_scale: 0x7E), elements saturate
//   g8  +Inf -> 0x78 (saturate_scale: 0x7E), the Inf element code 7
//   g9  amax 5000 -> ŝ = 416 (0x7D)
// and the top-k copies: int32 -1 and INT32_MIN sign-extended, a NaN weight's payload kept.
TEST(Nvfp4Stage, Spec10_6And6_4VectorsOnEveryBackend) {
  const KernelDecl& decl = kernel_or_throw("nvfp4_stage");
  const float ties[] = {6.0f, 0.25f, 1.25f, 2.5f, 5.0f, -0.25f, -0.1f};
  const uint8_t away[] = {0x7, 0x1, 0x3, 0x5, 0x7, 0x9, 0x8};
  const uint8_t even[] = {0x7, 0x0, 0x2, 0x4, 0x6, 0x8, 0x8};
  const float amax[] = {6.0f, 6.375f, 7.125f, 0.005859375f, 2688.0f, 2784.0f, 2785.0f, 3000.0f,
                        std::numeric_limits<float>::infinity(), 5000.0f};
  const uint8_t staging_sf[] = {0x38, 0x38, 0x3A, 0x00, 0x7E, 0x7E, 0x7F, 0x78, 0x78, 0x7D};
  const uint8_t saturated_sf[] = {0x38, 0x38, 0x3A, 0x00, 0x7E, 0x7E, 0x7E, 0x7E, 0x7E, 0x7E};
  for (const char* mode : {"away", "even"})
    for (const char* sat : {"0", "1"}) {
      const Problem p = complete_problem(decl, problem(2, 256, 3, "float32", mode, sat));
      int ran = 0;
      for (const auto& be : builtin_backends()) {
        if (!be->availability().runnable) continue;
        ++ran;
        TensorMap t = raw_tensors(2, 256, 3, 3, DType::fp32);
        float* x = t.at("hidden_states").data<float>();
        for (int j = 0; j < 7; ++j) x[j] = ties[j];
        for (int g = 1; g < 10; ++g) x[16 * g + 5] = (g % 2) ? -amax[g] : amax[g];
        int32_t* ids = t.at("topk_ids").data<int32_t>();
        const int32_t id_in[] = {-1, std::numeric_limits<int32_t>::min(), 383, 7, 0, 255};
        std::memcpy(ids, id_in, sizeof id_in);
        const uint32_t w_in[] = {0x7FC01234u, 0x80000000u, 0x3E800000u, 0x00000001u, 0xFF800000u, 0x3F000000u};
        std::memcpy(t.at("topk_weights").data<float>(), w_in, sizeof w_in);
        Invocation inv{&decl, &p, &t, TileConfig{}, 1};
        const Status s = be->run(inv);
        ASSERT_TRUE(s.ok) << be->name() << ": " << s.message;
        const std::string what = be->name() + " ties " + mode + " saturate_scale " + sat;
        const bool saturated = std::string(sat) == "1";
        for (int g = 0; g < 10; ++g)
          EXPECT_EQ(sf_at(t.at("x_sf"), 0, g), saturated ? saturated_sf[g] : staging_sf[g]) << what << " group " << g;
        for (int j = 0; j < 7; ++j)
          EXPECT_EQ(code_at(t.at("x_fp4"), 0, j), std::string(mode) == "away" ? away[j] : even[j])
              << what << " element " << j;
        // Overflowed scales: the amax element saturates to +-6 (code 7 / 0xF); Inf is code 7.
        EXPECT_EQ(code_at(t.at("x_fp4"), 0, 16 * 7 + 5), 0xF) << what;  // -3000
        EXPECT_EQ(code_at(t.at("x_fp4"), 0, 16 * 8 + 5), 0x7) << what;  // +Inf
        // Underflowed scale (ŝ = 0, inv = 1e6): the amax element saturates, zeros stay 0.
        EXPECT_EQ(code_at(t.at("x_fp4"), 0, 16 * 3 + 5), 0xF) << what;
        EXPECT_EQ(code_at(t.at("x_fp4"), 0, 16 * 3 + 6), 0x0) << what;
        // Row 1 is all zero: scale bytes 0 (amax floor 1e-4 -> scale byte 0), codes 0.
        for (int g = 0; g < 16; ++g) EXPECT_EQ(sf_at(t.at("x_sf"), 1, g), 0) << what;
        for (int64_t i = 0; i < 128; ++i) EXPECT_EQ(t.at("x_fp4").data<uint8_t>()[128 + i], 0) << what;
        const int64_t* idx = t.at("topk_idx_out").data<int64_t>();
        for (int j = 0; j < 6; ++j) EXPECT_EQ(idx[j], static_cast<int64_t>(id_in[j])) << what;
        EXPECT_EQ(idx[1], -2147483648LL) << what;
        for (int j = 0; j < 6; ++j) {
          uint32_t b;
          std::memcpy(&b, t.at("topk_weights_out").data<float>() + j, 4);
          EXPECT_EQ(b, w_in[j]) << what << " weight " << j;
        }
      }
      EXPECT_GE(ran, 2);
    }
}

// FP32 hidden rows with a new magnitude 10^U(lo, hi) per 16-element group; ids / weights filled.
TensorMap random_call(const Problem& p, std::mt19937_64& gen, double lo, double hi) {
  const KernelDecl& decl = kernel_or_throw("nvfp4_stage");
  TensorMap t;
  for (const auto& td : decl.tensors) t.emplace(td.name, make_tensor(decl, p, td.name));
  Tensor& x = t.at("hidden_states");
  std::normal_distribution<double> normal;
  std::uniform_real_distribution<double> mag(lo, hi);
  for (int64_t g = 0; g < x.numel() / 16; ++g) {
    const double s = std::pow(10.0, mag(gen));
    for (int64_t j = 0; j < 16; ++j) x.data<float>()[g * 16 + j] = static_cast<float>(normal(gen) * s);
  }
  for (int64_t i = 0; i < t.at("topk_ids").numel(); ++i) {
    t.at("topk_ids").data<int32_t>()[i] = static_cast<int32_t>(gen() % 256);
    t.at("topk_weights").data<float>()[i] = 0.125f;
  }
  return t;
}

TensorMap run_on(Backend& be, const Problem& p, const TensorMap& in) {
  const KernelDecl& decl = kernel_or_throw("nvfp4_stage");
  TensorMap t = in;
  Invocation inv{&decl, &p, &t, TileConfig{}, 1};
  const Status s = be.run(inv);
  EXPECT_TRUE(s.ok) << be.name() << ": " << s.message;
  return t;
}

// The NVFP4 quantization bound for a block whose amax lies in [6 * 2^-6, 2784] (normal UE4M3
// scales, no overflow): with s = amax/6 and ŝ the decoded scale byte,
//   |ŝ - s| <= s / 16                       (nearest 3-bit-mantissa value: half an ulp)
//   |v / ŝ| <= 6.4                          (follows: amax / ŝ <= 6 / (1 - 1/16))
//   the code is a nearest E2M1 value of clamp(v / ŝ, -6, 6), with its sign when nonzero,
// so that |v - ŝ q| <= ŝ (half the widest E2M1 gap) + 0.4 ŝ at most past the clamp. A slack
// of 2^-20 relative covers the binary32 reciprocal and multiply.
TEST(Nvfp4Stage, DecodeReproducesInputWithinNvfp4Bound) {
  const KernelDecl& decl = kernel_or_throw("nvfp4_stage");
  std::mt19937_64 gen(7);
  static const double kMag[8] = {0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0};
  int64_t blocks_checked = 0, elements_checked = 0;
  for (const char* mode : {"away", "even"})
    for (const char* sat : {"0", "1"}) {
      const Problem p = complete_problem(decl, problem(9, 2048, 6, "float32", mode, sat));
      const TensorMap in = random_call(p, gen, -2.5, 3.5);
      const float* v = in.at("hidden_states").data<float>();
      for (const auto& be : builtin_backends()) {
        if (!be->availability().runnable) continue;
        const TensorMap out = run_on(*be, p, in);
        for (int64_t r = 0; r < 9; ++r)
          for (int64_t g = 0; g < 2048 / 16; ++g) {
            double amax = 0;
            for (int64_t j = 0; j < 16; ++j) amax = std::max(amax, std::fabs(double{v[r * 2048 + g * 16 + j]}));
            if (amax < 6.0 * 0x1p-6 || amax > 2784.0) continue;
            ++blocks_checked;
            const double s = amax / 6.0, sh = nvfp4_e4m3_decode(sf_at(out.at("x_sf"), r, g));
            ASSERT_LE(std::fabs(sh - s), s / 16) << be->name() << " row " << r << " group " << g << " amax " << amax;
            for (int64_t j = 0; j < 16; ++j) {
              const int64_t e = g * 16 + j;
              const double x = v[r * 2048 + e], w = x / sh;
              const uint8_t c = code_at(out.at("x_fp4"), r, e);
              const double q = kMag[c & 7];
              const std::string where = be->name() + " " + mode + " sat " + sat + " row " + std::to_string(r) +
                                        " element " + std::to_string(e) + " v " + std::to_string(x) + " ŝ " +
                                        std::to_string(sh) + " code " + std::to_string(c);
              ASSERT_LE(std::fabs(w), 6.4 * (1 + 0x1p-20)) << where;
              const double a = std::min(std::fabs(w), 6.0);
              double best = INFINITY;
              for (double m : kMag) best = std::min(best, std::fabs(a - m));
              ASSERT_LE(std::fabs(a - q), best + 0x1p-20 * std::max(a, 1.0)) << where << ": not a nearest value";
              if (q != 0) {
                ASSERT_EQ((c & 8) != 0, x < 0) << where << ": sign";
              }
              const double half_gap = a <= 2 ? 0.25 : (a <= 4 ? 0.5 : 1.0);
              const double err = std::fabs(x - (c & 8 ? -q : q) * sh);
              ASSERT_LE(err, sh * (half_gap + std::max(0.0, std::fabs(w) - 6.0)) + 0x1p-20 * std::fabs(x)) << where;
              ++elements_checked;
            }
          }
      }
    }
  EXPECT_GT(blocks_checked, 2000);
  EXPECT_GT(elements_checked, 32000);
}

// `even` against the textbook: the E2M1 code of every element equals round-to-nearest-even with
// saturation (kcs::e2m1_from_float, Round::rint; torchao's _f32_to_floatx_unpacked, PTX
// cvt.rn.satfinite.e2m1x2) of w = v * inv, inv from the scale byte written; `away` equals
// ties-away (Round::rhaz). The one convention apart: w = -0.0 codes 0x0 in the staging kernel
// (sign = w < 0), 0x8 in the textbook. And every in-range scale byte (amax <= 2784) equals the
// correctly rounded, saturating E4M3 of f32(amax / 6) (spec §6.4, verified there on 2e5 samples).
// Inputs: the E2M1 midpoints and values at scales 2^-8 .. 2^8 (exact ties) mixed with random data.
TEST(Nvfp4Stage, CodesMatchTextbookRoundingInBothModes) {
  const KernelDecl& decl = kernel_or_throw("nvfp4_stage");
  std::mt19937_64 gen(11);
  static const float kT[] = {0.25f, 0.75f, 1.25f, 1.75f, 2.5f, 3.5f, 5.0f, 0.5f, 1.0f, 6.0f, 0.0f};
  int64_t ties_seen = 0;
  for (const char* mode : {"away", "even"}) {
    const Problem p = complete_problem(decl, problem(8, 1024, 6, "float32", mode));
    TensorMap in = random_call(p, gen, -3, 3);
    float* v = in.at("hidden_states").data<float>();
    for (int64_t g = 0; g < in.at("hidden_states").numel() / 16; g += 2) {  // every other group: ties
      const int s = static_cast<int>(gen() % 17) - 8;
      v[g * 16] = std::ldexp(6.0f, s);
      for (int64_t j = 1; j < 16; ++j) v[g * 16 + j] = std::ldexp(kT[gen() % 11], s) * ((gen() & 1) ? -1.0f : 1.0f);
    }
    const Round rule = std::string(mode) == "even" ? Round::rint : Round::rhaz;
    for (const auto& be : builtin_backends()) {
      if (!be->availability().runnable) continue;
      const TensorMap out = run_on(*be, p, in);
      for (int64_t r = 0; r < 8; ++r)
        for (int64_t g = 0; g < 1024 / 16; ++g) {
          const uint8_t byte = sf_at(out.at("x_sf"), r, g);
          const float inv = nvfp4_inv_scale(nvfp4_e4m3_decode(byte));
          float amax = 0;
          for (int64_t j = 0; j < 16; ++j) amax = std::max(amax, std::fabs(v[r * 1024 + g * 16 + j]));
          if (amax <= 2784.0f) {
            ASSERT_EQ(byte, e4m3_from_float(std::max(amax, 1e-4f) / 6.0f, Round::rint, true))
                << be->name() << " row " << r << " group " << g << " amax " << amax;
          }
          for (int64_t j = 0; j < 16; ++j) {
            const int64_t e = g * 16 + j;
            const float w = std::min(std::max(v[r * 1024 + e] * inv, -6.0f), 6.0f);
            const uint8_t want = f32_bits(w) == 0x80000000u ? 0x0 : e2m1_from_float(w, rule);
            const float frac = std::fabs(w) * 4.0f;  // the midpoints are multiples of 0.25
            ties_seen += frac == std::floor(frac) && e2m1_to_float(want) != std::fabs(w) ? 1 : 0;
            ASSERT_EQ(code_at(out.at("x_fp4"), r, e), want)
                << be->name() << " " << mode << " row " << r << " element " << e << " w " << w;
          }
        }
    }
  }
  EXPECT_GT(ties_seen, 1000);
}

// The SIMD top-k copies against the reference: every length 1..40 (masked tails of both ISAs),
// partial row ranges, both id dtypes, canaries on both sides of every output.
TEST(Nvfp4Stage, SimdTopkCopyMatchesReference) {
  const auto vars = opt::runnable_variants(opt::kNvfp4StageVariants);
  if (vars.empty()) GTEST_SKIP() << "skipped: no optimized variant runs on this CPU";
  std::mt19937_64 gen(5);
  constexpr int64_t kPad = 16;
  const int64_t canary = static_cast<int64_t>(0xC3C3C3C3C3C3C3C3ull);
  for (const auto& var : vars)
    for (DType idt : {DType::i32, DType::i64})
      for (int64_t top_k = 1; top_k <= 40; ++top_k)
        for (int64_t rows : {1, 3}) {
          const int64_t n = rows * top_k;
          std::vector<int32_t> ids32(static_cast<size_t>(n));
          std::vector<int64_t> ids64(static_cast<size_t>(n));
          std::vector<float> w(static_cast<size_t>(n));
          for (int64_t i = 0; i < n; ++i) {
            const uint64_t r = gen();
            ids32[static_cast<size_t>(i)] = static_cast<int32_t>(r);
            ids64[static_cast<size_t>(i)] = static_cast<int64_t>(r);
            const uint32_t b = static_cast<uint32_t>(r >> 32);
            std::memcpy(&w[static_cast<size_t>(i)], &b, 4);
          }
          const void* ids = idt == DType::i32 ? static_cast<const void*>(ids32.data()) : ids64.data();
          std::vector<int64_t> want_idx(static_cast<size_t>(n));
          std::vector<float> want_w(static_cast<size_t>(n));
          for (int64_t r = 0; r < rows; ++r)
            nvfp4_stage_topk_reference(static_cast<const char*>(ids) + r * top_k * static_cast<int64_t>(dtype_size(idt)),
                                       idt, w.data() + r * top_k, top_k, want_idx.data() + r * top_k,
                                       want_w.data() + r * top_k);
          for (int64_t r0 = 0; r0 < rows; ++r0)
            for (int64_t r1 = r0 + 1; r1 <= rows; ++r1) {
              std::vector<int64_t> idx(static_cast<size_t>(n + 2 * kPad), canary);
              std::vector<uint32_t> wo(static_cast<size_t>(n + 2 * kPad), 0xC3C3C3C3u);
              opt::Nvfp4Topk a;
              a.ids = ids;
              a.ids_dtype = idt;
              a.weights = w.data();
              a.top_k = top_k;
              a.idx_out = idx.data() + kPad;
              a.weights_out = reinterpret_cast<float*>(wo.data() + kPad);
              var.topk(a, r0, r1);
              for (int64_t i = -kPad; i < n + kPad; ++i) {
                const bool inside = i >= r0 * top_k && i < r1 * top_k;
                uint32_t wb;
                std::memcpy(&wb, &want_w[static_cast<size_t>(inside ? i : 0)], 4);
                ASSERT_EQ(idx[static_cast<size_t>(i + kPad)], inside ? want_idx[static_cast<size_t>(i)] : canary)
                    << isa_name(var.isa) << " " << dtype_name(idt) << " top_k " << top_k << " rows [" << r0 << ", "
                    << r1 << ") element " << i;
                ASSERT_EQ(wo[static_cast<size_t>(i + kPad)], inside ? wb : 0xC3C3C3C3u)
                    << isa_name(var.isa) << " top_k " << top_k << " rows [" << r0 << ", " << r1 << ") element " << i;
              }
            }
        }
}

}  // namespace
}  // namespace kcs
