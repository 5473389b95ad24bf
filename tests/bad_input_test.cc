// Bad input per kernel (spec §9, DESIGN "Tests"): wrong shapes, dtypes and ranks, missing tensors,
// unknown or out-of-range dims and attributes, zero sizes, the kernel-specific preconditions (odd
// rope dim, K not a multiple of 128, eps <= 0, ...), and NaN/Inf inputs where the spec defines
// the behaviour. Every built-in backend this CPU runs must reject a bad call with a message that
// names the tensor/dimension/attribute, write nothing (outputs poisoned, in-out tensors and inputs
// compared byte for byte), and never crash. Data-dependent rejections (index out of range, subnormal
// amax) are catalog `expect_error` cases, run on every backend by the conformance suites.
//
// Generic over the declarations: a new kernel gets the generic checks for free and adds its own
// preconditions to kProblemRejections below.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "conformance/runner/catalog.h"
#include "conformance/runner/runner.h"
#include "kcs/backend.h"
#include "kcs/formats.h"

namespace kcs {
namespace {

using ::testing::HasSubstr;
constexpr uint8_t kPoison = 0xA5;

// The kernel's first smoke case: small, valid, committed.
const CaseSpec& smoke_case(const std::string& kernel) {
  static std::map<std::string, CaseSpec> cache;
  auto it = cache.find(kernel);
  if (it == cache.end()) {
    const auto cases = select_cases(load_catalog(kernel_or_throw(kernel)), Tier::smoke);
    if (cases.empty()) throw Error(kernel + " has no smoke case");
    it = cache.emplace(kernel, cases.front()).first;
  }
  return it->second;
}

const Bundle& smoke_bundle(const std::string& kernel) {
  static std::map<std::string, Bundle> cache;
  auto it = cache.find(kernel);
  if (it == cache.end()) it = cache.emplace(kernel, load_or_make_bundle(smoke_case(kernel))).first;
  return it->second;
}

// Inputs and in-out before-states of the bundle, outputs poisoned.
TensorMap call_tensors(const KernelDecl& d, const Bundle& b) {
  TensorMap t;
  for (const auto& td : d.tensors) {
    if (td.role == Role::in) t.emplace(td.name, b.inputs.at(td.name));
    if (td.role == Role::inout) t.emplace(td.name, b.inout_before.at(td.name));
    if (td.role == Role::out) {
      Tensor o = make_tensor(d, b.problem, td.name);
      o.fill_bytes(kPoison);
      t.emplace(td.name, std::move(o));
    }
  }
  return t;
}

// Every runnable built-in backend rejects the call with `want` in its message and leaves every
// tensor of the call exactly as it was.
void expect_rejected(const KernelDecl& d, const Problem& p, const TensorMap& tensors, const std::string& want,
                     const std::string& what, const TileConfig& tile = TileConfig{}) {
  int ran = 0;
  for (auto& be : builtin_backends()) {
    if (!be->availability().runnable) continue;
    ++ran;
    TensorMap t = tensors;
    Invocation inv{&d, &p, &t, tile, 2};
    const Status s = be->run(inv);
    EXPECT_FALSE(s.ok) << be->name() << " accepted " << what;
    EXPECT_THAT(s.message, HasSubstr(want)) << be->name() << ": " << what;
    for (const auto& [name, tensor] : tensors) {
      auto it = t.find(name);
      ASSERT_NE(it, t.end());
      EXPECT_TRUE(it->second.same_bytes(tensor)) << be->name() << " wrote to " << name << " on a rejected call (" << what << ")";
    }
  }
  EXPECT_GT(ran, 0);
}

class BadInput : public testing::TestWithParam<std::string> {
 protected:
  const KernelDecl& decl() const { return kernel_or_throw(GetParam()); }
};

TEST_P(BadInput, MissingTensorIsNamed) {
  const KernelDecl& d = decl();
  const Bundle& b = smoke_bundle(d.id);
  for (const auto& td : d.tensors) {
    TensorMap t = call_tensors(d, b);
    t.erase(td.name);
    expect_rejected(d, b.problem, t, "'" + td.name + "' is missing", "without " + td.name);
  }
}

TEST_P(BadInput, WrongDtypeIsNamed) {
  const KernelDecl& d = decl();
  const Bundle& b = smoke_bundle(d.id);
  for (const auto& td : d.tensors) {
    TensorMap t = call_tensors(d, b);
    const Tensor& good = t.at(td.name);
    // Same shape, another dtype (fp64 is declared by no kernel tensor; fp32 where it is).
    const DType other = good.dtype() == DType::fp64 ? DType::fp32 : DType::fp64;
    t[td.name] = Tensor(other, good.shape());
    expect_rejected(d, b.problem, t, "'" + td.name + "' has dtype " + dtype_name(other), td.name + " as " + dtype_name(other));
  }
}

TEST_P(BadInput, WrongShapeOrRankIsNamed) {
  const KernelDecl& d = decl();
  const Bundle& b = smoke_bundle(d.id);
  for (const auto& td : d.tensors) {
    const TensorMap pristine = call_tensors(d, b);
    const Tensor& good = pristine.at(td.name);
    Shape longer = good.shape();
    if (longer.empty()) longer.push_back(1);
    ++longer.back();
    Shape extra_rank = good.shape();
    extra_rank.insert(extra_rank.begin(), 1);
    for (const Shape& s : {longer, extra_rank}) {
      TensorMap t = call_tensors(d, b);
      t[td.name] = Tensor(good.dtype(), s);
      expect_rejected(d, b.problem, t, "'" + td.name + "' has shape " + shape_str(s), td.name + " " + shape_str(s));
    }
  }
}

TEST_P(BadInput, UnknownOrInvalidDimsAndAttrsAreNamed) {
  const KernelDecl& d = decl();
  const Bundle& b = smoke_bundle(d.id);
  const TensorMap t = call_tensors(d, b);
  Problem p = b.problem;
  p.dims["bogus_dim"] = 3;
  expect_rejected(d, p, t, "unknown dimension 'bogus_dim'", "an unknown dimension");
  for (const auto& dd : d.dims) {
    p = b.problem;
    p.dims.erase(dd.name);
    expect_rejected(d, p, t, "dimension '" + dd.name + "' is missing", "without dim " + dd.name);
    p = b.problem;
    p.dims[dd.name] = -1;
    expect_rejected(d, p, t, "dimension " + dd.name + " = -1 is below its minimum", dd.name + " = -1");
    if (dd.min >= 1) {
      // Zero sizes the declaration does not allow (an empty reduction, an empty row).
      p.dims[dd.name] = 0;
      expect_rejected(d, p, t, "dimension " + dd.name + " = 0 is below its minimum", dd.name + " = 0");
    }
  }
  for (const auto& a : d.attrs) {
    if (a.kind != AttrDecl::Kind::choice) continue;
    p = b.problem;
    p.attrs[a.name] = "bogus";
    expect_rejected(d, p, t, "attribute " + a.name + " = 'bogus' is not one of", a.name + " = bogus");
  }
}

// Zero sizes the declaration allows (t / M / n_blocks = 0): a no-op on every backend (spec §9:
// "no-op; caches untouched"), never a crash or a write; or, where other dimensions forbid that
// zero, a clean rejection.
TEST_P(BadInput, AllowedZeroSizesAreNoOps) {
  const KernelDecl& d = decl();
  const Bundle& b = smoke_bundle(d.id);
  int zero_dims = 0;
  for (const auto& dd : d.dims) {
    if (dd.min > 0) continue;
    ++zero_dims;
    Problem p = b.problem;
    p.dims[dd.name] = 0;
    SCOPED_TRACE(dd.name + " = 0");
    // A zero that other dimensions forbid (e.g. a buffer of N = 0 rows for n_blocks > 0) must be a
    // clean rejection like any other bad problem.
    const Status v = validate_problem(d, p);
    if (!v) {
      expect_rejected(d, p, call_tensors(d, b), v.message, dd.name + " = 0");
      continue;
    }
    TensorMap t;
    for (const auto& td : d.tensors) {
      Tensor x = make_tensor(d, p, td.name);
      if (td.role != Role::in) x.fill_bytes(kPoison);
      t.emplace(td.name, std::move(x));
    }
    for (auto& be : builtin_backends()) {
      if (!be->availability().runnable) continue;
      TensorMap call = t;
      Invocation inv{&d, &p, &call, TileConfig{}, 2};
      const Status s = be->run(inv);
      EXPECT_TRUE(s.ok) << be->name() << ": " << s.message;
      for (const auto& td : d.tensors)
        if (td.role != Role::out) {
          EXPECT_TRUE(call.at(td.name).same_bytes(t.at(td.name))) << be->name() << " wrote to " << td.name;
        }
    }
  }
  if (!zero_dims) GTEST_SKIP() << d.id << " allows no zero dimension";
}

// Kernel-specific preconditions (spec §9 and the declarations' check_problem).
struct ProblemRejection {
  std::string kernel;
  Dims dims;    // overrides of the smoke case's dims
  Attrs attrs;  // overrides of its attributes
  std::string message;
};

const std::vector<ProblemRejection> kProblemRejections = {
    {"rope", {{"R", 3}, {"W", 3}}, {}, "R = 3 (rope dim) must be even"},
    {"rope", {{"D", 32}}, {}, "D = 32 (head dim) is smaller than the rope dim"},
    {"rope", {{"W", 10}}, {}, "W = 10 (cos/sin width) must be"},
    {"rope", {}, {{"mode", "pair"}, {"table", "full"}}, "mode=pair reads one cos/sin per pair"},
    {"nvfp4_quant", {{"K", 200}}, {}, "K = 200 is not a multiple of 64"},  // x_sf [M, K/64] cannot exist
    {"nvfp4_quant", {{"K", 192}}, {}, "K = 192 is not a multiple of 128"},
    {"nvfp4_quant", {{"K", 64}}, {}, "K = 64 is not a multiple of 128"},
    {"gemm_i8", {{"k", 200000}}, {}, "the int32 accumulators of acc could overflow"},
    {"layernorm", {}, {{"eps", "0"}}, "must be a positive finite number"},
    {"layernorm", {}, {{"eps", "nan"}}, "must be a positive finite number"},
    {"layernorm", {{"n", 1 << 22}}, {}, "exceeds"},
    {"rmsnorm", {}, {{"eps", "-1e-6"}}, "must be a positive finite number"},
    {"rmsnorm", {}, {{"gamma_dtype", "float32"}}, "takes a bfloat16 gamma"},
    {"rmsnorm", {{"n", 1 << 22}}, {}, "exceeds"},
    {"scatter", {{"D", 3}}, {{"dtype", "int8"}, {"cache_layout", "PA_NZ"}}, "is not a multiple of C0"},
};

TEST_P(BadInput, KernelPreconditionsAreNamed) {
  const KernelDecl& d = decl();
  const Bundle& b = smoke_bundle(d.id);
  int n = 0;
  for (const auto& r : kProblemRejections) {
    if (r.kernel != d.id) continue;
    ++n;
    Problem p = b.problem;
    for (const auto& [k, v] : r.dims) p.dims[k] = v;
    for (const auto& [k, v] : r.attrs) p.attrs[k] = v;
    EXPECT_THAT(validate_problem(d, p).message, HasSubstr(r.message));
    // The smoke case's tensors: the problem is checked before any tensor is looked at.
    expect_rejected(d, p, call_tensors(d, b), r.message, r.message);
  }
  if (!n) GTEST_SKIP() << d.id << " has no preconditions beyond the generic ones";
}

// ---- Tile knobs: declared ranges (KnobDecl), enforced by Backend::run for every backend ----

TEST_P(BadInput, KnobRangesHoldTheirDefaults) {
  for (const auto& k : decl().knobs) {
    SCOPED_TRACE(k.name);
    EXPECT_LE(k.min, k.default_value);
    EXPECT_LE(k.default_value, k.max);
    EXPECT_LE(k.max, kKnobMax);
    EXPECT_GE(k.multiple_of, 1);
    EXPECT_EQ(k.default_value % k.multiple_of, 0);
    EXPECT_TRUE(k.check(k.default_value).ok);
  }
}

// An undeclared knob, and every knob just outside its range, at the int64 extremes and (where a
// multiple is declared) off the multiple: refused by every backend, naming the knob and the
// range, nothing written. Before the ranges, k_block=INT64_MAX crashed avx2 gemm_i8 and hung
// gemm_bf16.
TEST_P(BadInput, OutOfRangeOrUnknownKnobIsNamedWithItsRange) {
  const KernelDecl& d = decl();
  const Bundle& b = smoke_bundle(d.id);
  const TensorMap t = call_tensors(d, b);
  expect_rejected(d, b.problem, t, "has no tile knob 'bogus'", "bogus=3", TileConfig::parse("bogus=3"));
  for (const auto& k : d.knobs) {
    std::vector<int64_t> bad = {k.max + 1, std::numeric_limits<int64_t>::max(), std::numeric_limits<int64_t>::min(),
                                k.min - 1};
    if (k.multiple_of > 1) bad.push_back(k.multiple_of + 1);
    for (int64_t v : bad) {
      TileConfig tile;
      tile.knobs[k.name] = v;
      expect_rejected(d, b.problem, t, "tile knob " + k.name + " = " + std::to_string(v) + " is out of range: valid " +
                                           k.range_str(),
                      k.name + "=" + std::to_string(v), tile);
    }
  }
}

// The declared range is what the optimized code handles: each knob at its smallest and largest
// value runs on every backend, and a bit-invariant knob gives the default tile's bits.
TEST_P(BadInput, KnobExtremesRunAndBitInvariantOnesChangeNoBit) {
  const KernelDecl& d = decl();
  const Bundle& b = smoke_bundle(d.id);
  for (auto& be : builtin_backends()) {
    if (!be->availability().runnable) continue;
    TensorMap base = call_tensors(d, b);
    ASSERT_TRUE(be->run(Invocation{&d, &b.problem, &base, TileConfig{}, 2}).ok) << be->name();
    for (const auto& k : d.knobs)
      for (int64_t v : {k.min, k.max / k.multiple_of * k.multiple_of}) {
        SCOPED_TRACE(be->name() + " " + k.name + "=" + std::to_string(v));
        TileConfig tile;
        tile.knobs[k.name] = v;
        TensorMap t = call_tensors(d, b);
        const Status s = be->run(Invocation{&d, &b.problem, &t, tile, 2});
        EXPECT_TRUE(s.ok) << s.message;
        if (!s.ok || !k.bit_invariant) continue;
        for (const auto& td : d.tensors)
          if (td.role != Role::in) {
            EXPECT_TRUE(t.at(td.name).same_bytes(base.at(td.name))) << td.name;
          }
      }
  }
}

std::vector<std::string> kernel_ids() {
  std::vector<std::string> v;
  for (const KernelDecl* d : all_kernels()) v.push_back(d->id);
  return v;
}

INSTANTIATE_TEST_SUITE_P(Kernels, BadInput, testing::ValuesIn(kernel_ids()),
                         [](const testing::TestParamInfo<std::string>& i) { return i.param; });

// ---- NaN / Inf where spec §9 defines the behaviour ----

// Runs every runnable backend on (p, t) and returns the outputs of each, by backend name.
std::map<std::string, TensorMap> run_all(const KernelDecl& d, const Problem& p, const TensorMap& t) {
  std::map<std::string, TensorMap> out;
  for (auto& be : builtin_backends()) {
    if (!be->availability().runnable) continue;
    TensorMap call = t;
    Invocation inv{&d, &p, &call, TileConfig{}, 2};
    const Status s = be->run(inv);
    EXPECT_TRUE(s.ok) << be->name() << ": " << s.message;
    out.emplace(be->name(), std::move(call));
  }
  return out;
}

// Q8, spec §9: a NaN row gives scale NaN and codes 0 [R]; an Inf row stays in its row (row
// isolation): the other rows are what they are without it.
TEST(BadInputNonFinite, Q8NanRowGivesNanScaleZeroCodesAndStaysInItsRow) {
  const KernelDecl& d = kernel_or_throw("q8");
  Problem p;
  p.kernel = "q8";
  p.dims = {{"rows", 3}, {"n", 37}};
  p = complete_problem(d, p);
  TensorMap clean;
  for (const auto& td : d.tensors) clean.emplace(td.name, make_tensor(d, p, td.name));
  for (int64_t i = 0; i < 3 * 37; ++i)
    clean.at("x").data<uint16_t>()[i] = bf16_from_double(std::sin(0.37 * static_cast<double>(i)) * 3.0);
  const auto base = run_all(d, p, clean);
  for (const uint16_t special : {uint16_t{0x7FC0}, uint16_t{0x7F80}, uint16_t{0xFF80}}) {  // NaN, +Inf, -Inf
    TensorMap t = clean;
    t.at("x").data<uint16_t>()[37 + 5] = special;  // row 1
    for (const auto& [be, out] : run_all(d, p, t)) {
      SCOPED_TRACE(be + " with x[1][5] = 0x" + std::to_string(special));
      const int8_t* codes = out.at("codes").data<int8_t>();
      const int8_t* base_codes = base.at(be).at("codes").data<int8_t>();
      for (int64_t r : {0, 2})
        for (int64_t j = 0; j < 37; ++j) EXPECT_EQ(codes[r * 37 + j], base_codes[r * 37 + j]) << "row " << r;
      EXPECT_EQ(out.at("scale").data<float>()[0], base.at(be).at("scale").data<float>()[0]);
      EXPECT_EQ(out.at("scale").data<float>()[2], base.at(be).at("scale").data<float>()[2]);
      if (special == 0x7FC0) {
        EXPECT_TRUE(std::isnan(out.at("scale").data<float>()[1]));
        for (int64_t j = 0; j < 37; ++j) EXPECT_EQ(codes[37 + j], 0) << "NaN row, element " << j;
      }
    }
  }
}

// Softmax pooling, spec §9: NaN propagates into its column (exp(NaN) makes the denominator NaN),
// a column of all -inf logits is 0/0 = NaN, a +inf logit gives NaN; other columns are unaffected.
TEST(BadInputNonFinite, SoftmaxPoolNonFiniteLogitsStayInTheirColumn) {
  const KernelDecl& d = kernel_or_throw("softmax_pool");
  const Bundle& b = smoke_bundle("softmax_pool");
  const Problem& p = b.problem;
  const int64_t M = p.dim("M"), C = p.dim("C");
  TensorMap clean = call_tensors(d, b);
  const auto base = run_all(d, p, clean);
  struct Poke {
    const char* what;
    int64_t col;
    std::function<void(float*)> apply;  // on the logits
  };
  const float inf = std::numeric_limits<float>::infinity();
  const std::vector<Poke> pokes = {
      {"NaN logit", 3, [&](float* l) { l[(0 * M + 1) * C + 3] = std::numeric_limits<float>::quiet_NaN(); }},
      {"+inf logit", 4, [&](float* l) { l[(0 * M + 2) * C + 4] = inf; }},
      {"all -inf column", 5, [&](float* l) { for (int64_t m = 0; m < M; ++m) l[(0 * M + m) * C + 5] = -inf; }},
  };
  for (const auto& poke : pokes) {
    TensorMap t = clean;
    poke.apply(t.at("logits").data<float>());
    for (const auto& [be, out] : run_all(d, p, t)) {
      SCOPED_TRACE(be + std::string(": ") + poke.what);
      const float* y = out.at("pooled").data<float>();
      const float* y0 = base.at(be).at("pooled").data<float>();
      EXPECT_TRUE(std::isnan(y[poke.col])) << "block 0 column " << poke.col << " = " << y[poke.col];
      for (int64_t i = 0; i < out.at("pooled").numel(); ++i)
        if (i != poke.col) {
          EXPECT_EQ(f32_bits(y[i]), f32_bits(y0[i])) << "element " << i << " moved";
        }
    }
  }
}

}  // namespace
}  // namespace kcs
