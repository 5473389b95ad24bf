// K5 compressor conformance (spec §7; contracts: decl/compressor.cc), the stage-isolated checks
// (spec §10.4 tier A: pool, norm, rope, hadamard against the primitives' contracts), plus the
// kernel's own properties:
//   HcaM1ExactBeforeRope   HCA with M = 1: the single weight is exp(0) = 1, so every column
//                          before the rope slice is bf16(value) exactly, on every backend (§10.2)
//   RopePosition           fused rotates at the block END, model at the block START (spec §7.5 D7)
//   LogitIsOneFp32Add      the window logit is f32(score + ape) (one binary32 add), not the
//                          binary64 sum (header of include/kcs/kernels/compressor.h)
//   IsasAgreeBitwise       AVX2 and AVX-512 run the same IEEE operations: identical bits (§10.7)
//   FusedRopeIsBinary32WithoutFma  the fused rope is the spec's binary32 formula, no FMA, on
//                          cancelling pairs (where an FMA shows), and writes nothing past the row
//   BadInputRejected       spec §9 K5 column and §7.6: clear message, nothing written
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "conformance/runner/runner.h"
#include "conformance/suites/suite.h"
#include "fixtures/generators/generators.h"
#include "kcs/formats.h"
#include "optimized/compressor.h"
#include "optimized/variants.h"

KCS_CONFORMANCE_SUITE(compressor)
KCS_STAGE_SUITE(compressor)

namespace kcs {
namespace {

const KernelDecl& decl() { return kernel_or_throw("compressor"); }

// A case from dims and attrs (defaults filled in), with the generator's inputs.
CaseSpec make_case(Dims dims, Attrs attrs, const std::string& scenario = "random", uint64_t seed = 5) {
  CaseSpec cs;
  cs.id = "compressor.unit";
  cs.scenario = scenario;
  cs.seed = seed;
  Problem p;
  p.kernel = "compressor";
  p.dims = std::move(dims);
  p.attrs = std::move(attrs);
  cs.problem = complete_problem(decl(), p);
  return cs;
}

Dims small_csa(int64_t nb) {
  return {{"n_blocks", nb}, {"N", 4 * nb}, {"M", 4}, {"C", 64}, {"C_I", 32}, {"NOPE", 48},
          {"ROPE", 16}, {"G", 2}, {"MP", 0}, {"P", 64}};
}

Dims small_hca(int64_t nb, int64_t M) {
  return {{"n_blocks", nb}, {"N", M * nb}, {"M", M}, {"C", 64}, {"C_I", 0}, {"NOPE", 48},
          {"ROPE", 16}, {"G", 1}, {"MP", 0}, {"P", 64}};
}

std::vector<std::unique_ptr<Backend>> runnable_backends() {
  std::vector<std::unique_ptr<Backend>> v;
  for (auto& b : builtin_backends())
    if (b->availability().runnable && b->name() != "optimized") v.push_back(std::move(b));
  return v;
}

TEST(CompressorProperties, HcaM1ExactBeforeRope) {
  for (const char* ep : {"fused", "model"})
    for (const char* dt : {"bfloat16", "float32"}) {
      const CaseSpec cs = make_case(small_hca(5, 1), {{"variant", "hca"}, {"epilogue", ep}, {"proj_dtype", dt}});
      const Bundle b = make_bundle(cs);
      const Tensor& proj = b.inputs.at("proj");
      for (auto& be : runnable_backends()) {
        const TensorMap t = suite::call(decl(), b, *be, TileConfig{}, 1);
        const uint16_t* kv = t.at("kv_out").data<uint16_t>();
        for (int64_t i = 0; i < 5; ++i)
          for (int64_t c = 0; c < 48; ++c) {
            const int64_t k = i * 128 + c;  // proj row i, value column c
            const double v = proj.dtype() == DType::bf16 ? bf16_to_float(proj.data<uint16_t>()[k]) : proj.data<float>()[k];
            if (std::string(ep) == "fused") {
              ASSERT_EQ(kv[i * 64 + c], bf16_from_double(v)) << be->name() << " " << dt << " block " << i << " col " << c;
            }
          }
        if (std::string(ep) == "model") {
          // The pooled value is the value: the BF16 input of the norm equals bf16(v) exactly.
          auto ref = make_reference_backend();
          TensorMap call;
          for (const auto& td : decl().tensors)
            call.emplace(td.name, td.role == Role::in ? b.inputs.at(td.name) : make_tensor(decl(), b.problem, td.name));
          Extras ex;
          Invocation inv{&decl(), &b.problem, &call, TileConfig{}, 1, &ex};
          ASSERT_TRUE(ref->run(inv).ok);
          const uint16_t* xb = ex.intermediates.at("xb").data<uint16_t>();
          for (int64_t i = 0; i < 5; ++i)
            for (int64_t c = 0; c < 64; ++c) {
              const int64_t k = i * 128 + c;
              const double v = proj.dtype() == DType::bf16 ? bf16_to_float(proj.data<uint16_t>()[k]) : proj.data<float>()[k];
              ASSERT_EQ(xb[i * 64 + c], bf16_from_double(v)) << dt << " block " << i << " col " << c;
            }
        }
      }
    }
}

// Table rows all (cos 1, sin 0) except the expected position's row (cos 0, sin 1): that row
// turns (x0, x1) into (-x1, x0), every other row leaves the pair alone.
TEST(CompressorProperties, RopePosition) {
  for (const char* ep : {"fused", "model"}) {
    const int64_t nb = 3, M = 4, pos0 = 8;
    const CaseSpec cs = make_case(small_csa(nb), {{"epilogue", ep}, {"start_abs_pos", std::to_string(pos0)}});
    Bundle b = make_bundle(cs);
    Tensor& tab = b.inputs.at("cos_sin_cache");
    const int64_t R = 16, P = 64;
    auto set_rows = [&](int64_t special) {
      for (int64_t r = 0; r < P; ++r)
        for (int64_t j = 0; j < R / 2; ++j) {
          tab.data<float>()[r * R + j] = r == special ? 0.0f : 1.0f;
          tab.data<float>()[r * R + R / 2 + j] = r == special ? 1.0f : 0.0f;
        }
    };
    for (auto& be : runnable_backends()) {
      set_rows(-1);
      const TensorMap plain = suite::call(decl(), b, *be, TileConfig{}, 1);
      for (int64_t i = 0; i < nb; ++i) {
        const int64_t want = pos0 + i * M + (std::string(ep) == "fused" ? M - 1 : 0);
        set_rows(want);
        const TensorMap rot = suite::call(decl(), b, *be, TileConfig{}, 1);
        const uint16_t* a = plain.at("kv_out").data<uint16_t>() + i * 64;
        const uint16_t* r = rot.at("kv_out").data<uint16_t>() + i * 64;
        for (int64_t p = 0; p < R / 2; ++p) {
          EXPECT_EQ(r[48 + 2 * p], a[48 + 2 * p + 1] ^ 0x8000) << be->name() << " " << ep << " block " << i;
          EXPECT_EQ(r[48 + 2 * p + 1], a[48 + 2 * p]) << be->name() << " " << ep << " block " << i;
        }
      }
    }
  }
}

TEST(CompressorProperties, LogitIsOneFp32Add) {
  // Score 80.5 (BF16) + ape 2^-20: the binary64 sum is not a binary32 number; the logit must be
  // its binary32 rounding, 80.5.
  const CaseSpec cs = make_case(small_hca(1, 8), {{"variant", "hca"}, {"epilogue", "fused"}});
  Bundle b = make_bundle(cs);
  Tensor& proj = b.inputs.at("proj");
  Tensor& ape = b.inputs.at("ape");
  for (int64_t q = 0; q < 8; ++q) {
    proj.data<uint16_t>()[q * 128 + 64] = bf16_from_double(80.5);
    ape.data<float>()[q * 64] = q == 0 ? 0x1.0p-20f : 0.0f;
  }
  auto ref = make_reference_backend();
  TensorMap call;
  for (const auto& td : decl().tensors)
    call.emplace(td.name, td.role == Role::in ? b.inputs.at(td.name) : make_tensor(decl(), b.problem, td.name));
  Extras ex;
  Invocation inv{&decl(), &b.problem, &call, TileConfig{}, 1, &ex};
  ASSERT_TRUE(ref->run(inv).ok);
  const float* z = ex.intermediates.at("logits").data<float>();
  for (int64_t q = 0; q < 8; ++q) EXPECT_EQ(z[q * 64], 80.5f) << "position " << q;
  // All eight logits equal: the weights are exactly 1/8 each, the pooled value the mean.
  double mean = 0;
  for (int64_t q = 0; q < 8; ++q) mean += bf16_to_float(proj.data<uint16_t>()[q * 128]);
  EXPECT_EQ(ex.prerounding.at("kv_out").data<double>()[0], mean / 8);
}

TEST(CompressorProperties, IsasAgreeBitwise) {
  if (!isa_missing(Isa::avx512).empty() || !isa_missing(Isa::avx2).empty()) GTEST_SKIP() << "needs AVX-512 and AVX2";
  auto a = make_isa_backend(Isa::avx512);
  auto b2 = make_isa_backend(Isa::avx2);
  for (const char* ep : {"fused", "model"})
    for (const char* sc : {"random", "large", "cancel"}) {
      Dims d = small_csa(5);
      d["C"] = 80;
      d["NOPE"] = 64;
      const CaseSpec cs = make_case(d, {{"epilogue", ep}, {"proj_dtype", "float32"}}, sc);
      const Bundle bd = make_bundle(cs);
      const TensorMap x = suite::call(decl(), bd, *a, TileConfig::parse("cols_per_cta=6,block_tile=2"), 2);
      const TensorMap y = suite::call(decl(), bd, *b2, TileConfig{}, 1);
      suite::expect_same_outputs(decl(), x, y, std::string(ep) + " " + sc);
    }
}

// The fused epilogue's rope on fp32 pooled pairs is the spec's binary32 formula without FMA
// (spec §7.6 last note; §0.3), checked where it matters: pairs whose two products nearly cancel,
// so that an FMA (one rounding less) moves the small result by many BF16 units.
TEST(CompressorProperties, FusedRopeIsBinary32WithoutFma) {
  using RowFn = void (*)(const float*, int64_t, int64_t, const float*, const float*, uint16_t*);
  std::vector<std::pair<std::string, RowFn>> fns;
  for (const auto& v : opt::runnable_variants(opt::kCompressorVariants)) fns.push_back({isa_name(v.isa), v.fused_row});
  if (fns.empty()) GTEST_SKIP() << "no ISA variant runs here";
  const int64_t nope = 6, R = 70, n = nope + R;  // tails in both ISAs
  Rng rng(3);
  std::vector<float> x(static_cast<size_t>(n)), cs(static_cast<size_t>(R)), sn(static_cast<size_t>(R));
  std::vector<uint16_t> want(static_cast<size_t>(n));
  for (int rep = 0; rep < 50; ++rep) {
    for (int64_t c = 0; c < nope; ++c) x[static_cast<size_t>(c)] = static_cast<float>(rng.normal());
    for (int64_t p = 0; p < R / 2; ++p) {
      const float c = static_cast<float>(rng.uniform(0.1, 1)), sv = static_cast<float>(rng.uniform(0.1, 1));
      const float x0 = static_cast<float>(rng.normal());
      // x1 ~ x0·c/s: the even output x0·c − x1·s nearly cancels.
      const float x1 = static_cast<float>(static_cast<double>(x0) * c / sv * (1 + 1e-6 * rng.normal()));
      x[static_cast<size_t>(nope + 2 * p)] = x0;
      x[static_cast<size_t>(nope + 2 * p + 1)] = x1;
      cs[static_cast<size_t>(2 * p)] = cs[static_cast<size_t>(2 * p + 1)] = c;
      sn[static_cast<size_t>(2 * p)] = sn[static_cast<size_t>(2 * p + 1)] = sv;
    }
    for (int64_t c = 0; c < n; ++c) {
      float y = x[static_cast<size_t>(c)];
      if (c >= nope) {  // binary32, each operation rounded (this file is built with -ffp-contract=off)
        const int64_t j = c - nope, e = nope + (j & ~int64_t{1});
        const float x0 = x[static_cast<size_t>(e)], x1 = x[static_cast<size_t>(e + 1)];
        const float cc = cs[static_cast<size_t>(j)], ss = sn[static_cast<size_t>(j)];
        const float a = j % 2 == 0 ? x0 * cc : x0 * ss, b = j % 2 == 0 ? x1 * ss : x1 * cc;
        y = j % 2 == 0 ? a - b : a + b;
      }
      want[static_cast<size_t>(c)] = bf16_from_float(y);
    }
    for (const auto& [name, fn] : fns) {
      std::vector<uint16_t> got(static_cast<size_t>(n) + 8, 0xDEAD);
      fn(x.data(), n, nope, cs.data(), sn.data(), got.data());
      for (int64_t c = 0; c < n; ++c) ASSERT_EQ(got[static_cast<size_t>(c)], want[static_cast<size_t>(c)]) << name << " column " << c;
      for (int64_t c = n; c < n + 8; ++c) ASSERT_EQ(got[static_cast<size_t>(c)], 0xDEAD) << name << " wrote past the row";
    }
  }
}

TEST(CompressorProperties, BadInputRejected) {
  struct Bad {
    std::string what;
    Dims dims;
    Attrs attrs;
    std::string message;
  };
  Dims ci_big = small_csa(2);
  ci_big["C_I"] = 66;
  Dims odd_nope = small_csa(2);
  odd_nope["NOPE"] = 47;
  odd_nope["ROPE"] = 17;
  Dims odd_rope = small_csa(2);
  odd_rope["NOPE"] = 49;
  odd_rope["ROPE"] = 15;
  Dims short_n = small_csa(2);
  short_n["N"] = 7;
  Dims mp = small_csa(2);
  mp["MP"] = 4;
  const std::vector<Bad> cases = {
      {"C_I > C", ci_big, {}, "exceeds C"},
      {"odd NOPE", odd_nope, {}, "NOPE = 47 must be even"},
      {"odd ROPE", odd_rope, {}, "NOPE = 49 must be even"},
      {"short proj", short_n, {}, "N = 7"},
      {"unaligned start_abs_pos (model)", small_csa(2), {{"start_abs_pos", "2"}}, "not a multiple of M"},
      {"position beyond the table", small_csa(2), {{"start_abs_pos", "60"}}, "outside the table"},
      {"prev rows without has_external_prev", mp, {}, "MP = 4"},
  };
  for (const Bad& bc : cases) {
    Problem p;
    p.kernel = "compressor";
    p.dims = bc.dims;
    p.attrs = bc.attrs;
    const Problem cp = complete_problem(decl(), p);
    const Status s = validate_problem(decl(), cp);
    EXPECT_FALSE(s.ok) << bc.what;
    EXPECT_NE(s.message.find(bc.message), std::string::npos) << bc.what << ": " << s.message;
  }
  // Unaligned start in the fused epilogue is fine (block-end positions need no alignment).
  Problem ok;
  ok.kernel = "compressor";
  ok.dims = small_csa(2);
  ok.attrs = {{"epilogue", "fused"}, {"start_abs_pos", "2"}};
  EXPECT_TRUE(validate_problem(decl(), complete_problem(decl(), ok)).ok);
  // Nothing written: a rejected call leaves the outputs as they were.
  Dims d = small_csa(2);
  Problem bad;
  bad.kernel = "compressor";
  bad.dims = d;
  bad.attrs = {{"start_abs_pos", "2"}};
  bad = complete_problem(decl(), bad);
  TensorMap t;
  for (const auto& td : decl().tensors) t.emplace(td.name, make_tensor(decl(), bad, td.name));
  std::memset(t.at("kv_out").raw(), 0x5A, static_cast<size_t>(t.at("kv_out").numel()) * 2);
  const Tensor before = t.at("kv_out");
  for (auto& be : runnable_backends()) {
    Invocation inv{&decl(), &bad, &t, TileConfig{}, 1};
    EXPECT_FALSE(be->run(inv).ok) << be->name();
    EXPECT_TRUE(t.at("kv_out").same_bytes(before)) << be->name();
  }
}

}  // namespace
}  // namespace kcs
