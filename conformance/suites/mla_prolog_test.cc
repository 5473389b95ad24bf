// K2 MLA Prolog Quant conformance (spec §4, §10.5): the generic suite, the stage-isolated checks
// (spec §10.4 tier A) and kernel-specific properties:
//   StridedRope     the rope engine on strided slices (as the fused kernel calls it, both ISAs)
//                   equals the engine on gathered dense slices bit for bit
//   BatchInvariance t single-token calls (caches carried from call to call) give the bytes of one
//                   batched call, duplicates included (spec §1.8, §10.7)
//   Chaining        q_norm_out / q_norm_scale_out have K1's q_norm / q_norm_scale dtypes and shapes
//                   (spec §1.9) and dequantize to cq within half a code step
//   Faults          the contracts catch a re-interleaved query_rope_out, a k_scale_cache write in
//                   non-quant mode and a q_norm code off by 2
#include <cmath>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "conformance/suites/suite.h"
#include "kcs/formats.h"
#include "kcs/kernels/mla_prolog.h"
#include "optimized/mla_prolog.h"
#include "optimized/rope.h"

KCS_CONFORMANCE_SUITE(mla_prolog)
KCS_STAGE_SUITE(mla_prolog)

namespace {

using namespace kcs;

// The first catalog case matching a glob pattern (ids spell out every dim).
CaseSpec find(const std::string& pattern) {
  const std::vector<CaseSpec> cs = select_cases(suite::catalog("mla_prolog"), Tier::nightly, pattern);
  if (cs.empty()) throw Error("no mla_prolog case matches " + pattern);
  return cs.front();
}

// ---- StridedRope --------------------------------------------------------------------------------

std::vector<uint16_t> random_bf16(int64_t n, uint64_t seed) {
  uint64_t s = seed * 0x9E3779B97F4A7C15ull + 7;
  std::vector<uint16_t> v(static_cast<size_t>(n));
  for (auto& x : v) {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    const uint32_t r = static_cast<uint32_t>(s >> 32);
    // Mostly normal values of mixed magnitude; some zeros of both signs and subnormals.
    if (r % 37 == 0)
      x = static_cast<uint16_t>((r & 1u) << 15);
    else if (r % 41 == 0)
      x = static_cast<uint16_t>(((r & 1u) << 15) | ((r >> 3) & 0x7Fu));
    else
      x = static_cast<uint16_t>(((r & 1u) << 15) | ((110u + (r >> 8) % 30u) << 7) | ((r >> 1) & 0x7Fu));
  }
  return v;
}

TEST(MlaPrologStridedRope, EqualsRopeEngine) {
  for (Isa isa : {Isa::avx512, Isa::avx2}) {
    if (!isa_missing(isa).empty()) continue;
    for (int64_t R : {int64_t{8}, int64_t{16}, int64_t{34}, int64_t{64}}) {
      const int64_t T = 3, H = 5, nope = 24, qhd = nope + R;
      const std::vector<uint16_t> qb = random_bf16(T * H * qhd, static_cast<uint64_t>(R));
      const std::vector<uint16_t> cos = random_bf16(T * R, 100 + static_cast<uint64_t>(R));
      const std::vector<uint16_t> sin = random_bf16(T * R, 200 + static_cast<uint64_t>(R));
      // The engine on the gathered [T, H, R] slices.
      std::vector<uint16_t> x(static_cast<size_t>(T * H * R)), want(x.size()), got(x.size(), 0xFFFF);
      for (int64_t r = 0; r < T * H; ++r)
        std::memcpy(&x[static_cast<size_t>(r * R)], &qb[static_cast<size_t>(r * qhd + nope)], static_cast<size_t>(R) * 2);
      opt::RopeArgs e;
      e.x = x.data();
      e.y = want.data();
      e.H = H;
      e.D = R;
      e.R = R;
      e.mode = RopeMode::v2;
      e.cos = cos.data();
      e.sin = sin.data();
      (isa == Isa::avx512 ? opt::rope_tokens_avx512 : opt::rope_tokens_avx2)(e, 0, T);
      // The strided call the fused kernel makes, straight from qb.
      opt::RopeArgs m = e;
      m.x = qb.data() + nope;
      m.x_tok = H * qhd;
      m.x_head = qhd;
      m.y = got.data();
      (isa == Isa::avx512 ? opt::rope_tokens_avx512 : opt::rope_tokens_avx2)(m, 0, T);
      for (size_t k = 0; k < want.size(); ++k)
        ASSERT_EQ(got[k], want[k]) << isa_name(isa) << " R=" << R << " element " << k;
    }
  }
}

// ---- BatchInvariance ------------------------------------------------------------------------------

// The tensors of a t = 1 call for token i of the batched problem, caches taken from `caches`.
TensorMap token_call(const KernelDecl& decl, const Problem& one, const Bundle& b, int64_t i, const TensorMap& caches) {
  TensorMap t;
  const int64_t T = b.problem.dim("t");
  for (const auto& td : decl.tensors) {
    Tensor x = make_tensor(decl, one, td.name);
    if (td.role == Role::inout) {
      x = caches.at(td.name);
    } else if (td.role == Role::in) {
      const Tensor& src = b.inputs.at(td.name);
      const bool per_token = td.shape.front() == "t";
      const size_t row = per_token ? src.nbytes() / static_cast<size_t>(T) : src.nbytes();
      if (row) std::memcpy(x.raw(), static_cast<const char*>(src.raw()) + (per_token ? row * static_cast<size_t>(i) : 0), row);
    }
    t[td.name] = std::move(x);
  }
  return t;
}

TEST(MlaPrologBatchInvariance, SingleTokenCallsEqualBatchedCall) {
  const KernelDecl& decl = kernel_or_throw("mla_prolog");
  for (const char* id : {"mla_prolog.duplicates_quant.*", "mla_prolog.duplicates_nonquant.*"}) {
    const CaseSpec cs = find(id);
    const Bundle& b = suite::bundle_for(cs);
    const int64_t T = b.problem.dim("t");
    Problem one = b.problem;
    one.dims["t"] = 1;
    for (const char* be_name : {"avx512", "avx2"}) {
      std::unique_ptr<Backend> be = make_builtin_backend(be_name);
      if (!be->availability().runnable) continue;
      // One batched call.
      TensorMap all;
      for (const auto& td : decl.tensors) {
        if (td.role == Role::in) all[td.name] = b.inputs.at(td.name);
        if (td.role == Role::inout) all[td.name] = b.inout_before.at(td.name);
        if (td.role == Role::out) all[td.name] = make_tensor(decl, b.problem, td.name);
      }
      Invocation inv{&decl, &b.problem, &all, TileConfig{}, 1};
      ASSERT_TRUE(be->run(inv)) << be_name;
      // T calls of one token each, caches carried over.
      TensorMap caches;
      for (const auto& td : decl.tensors)
        if (td.role == Role::inout) caches[td.name] = b.inout_before.at(td.name);
      for (int64_t i = 0; i < T; ++i) {
        TensorMap t = token_call(decl, one, b, i, caches);
        Invocation one_inv{&decl, &one, &t, TileConfig{}, 1};
        ASSERT_TRUE(be->run(one_inv)) << be_name << " token " << i;
        for (const auto& td : decl.tensors) {
          if (td.role == Role::inout) caches[td.name] = t.at(td.name);
          if (td.role != Role::out) continue;
          const Tensor& whole = all.at(td.name);
          const size_t row = whole.nbytes() / static_cast<size_t>(T);
          ASSERT_EQ(std::memcmp(t.at(td.name).raw(), static_cast<const char*>(whole.raw()) + row * static_cast<size_t>(i), row), 0)
              << be_name << " " << id << ": " << td.name << " of token " << i << " differs from the batched call";
        }
      }
      for (const auto& [name, c] : caches)
        EXPECT_TRUE(c.same_bytes(all.at(name))) << be_name << " " << id << ": " << name << " differs";
    }
  }
}

// ---- Chaining -----------------------------------------------------------------------------------

TEST(MlaPrologChaining, QNormOutputsAreK1Inputs) {
  const KernelDecl& decl = kernel_or_throw("mla_prolog");
  const CaseSpec cs = find("mla_prolog.s1_quant.t=7.*eps_cq=1e-5.eps_ckv=1e-5");
  const Bundle b = make_bundle(cs);  // fresh: with the reference's intermediates
  const int64_t T = b.problem.dim("t"), ql = b.problem.dim("q_lora");
  // K1 (spec §3.2): q_norm INT8 [t, q_lora_rank], q_norm_scale FP32 [t, 1].
  EXPECT_EQ(tensor_dtype(*decl.find_tensor("q_norm_out"), b.problem), DType::i8);
  EXPECT_EQ(tensor_shape(*decl.find_tensor("q_norm_out"), b.problem), (Shape{T, ql}));
  EXPECT_EQ(tensor_dtype(*decl.find_tensor("q_norm_scale_out"), b.problem), DType::fp32);
  EXPECT_EQ(tensor_shape(*decl.find_tensor("q_norm_scale_out"), b.problem), (Shape{T, 1}));
  // code · s_dq reproduces cq within half a step (s_dq = amax/127 up to rounding).
  const int8_t* codes = b.outputs.at("q_norm_out").data<int8_t>();
  const float* s = b.outputs.at("q_norm_scale_out").data<float>();
  const uint16_t* cq = b.intermediates.at("cq").data<uint16_t>();
  for (int64_t i = 0; i < T; ++i)
    for (int64_t j = 0; j < ql; ++j) {
      const double v = bf16_to_float(cq[i * ql + j]), r = static_cast<double>(codes[i * ql + j]) * s[i];
      ASSERT_LE(std::fabs(v - r), 0.5 * s[i] * (1 + 0x1p-20)) << "token " << i << " element " << j;
    }
}

// ---- Faults ------------------------------------------------------------------------------------

TensorMap reference_outputs(const KernelDecl& decl, const Bundle& b) {
  TensorMap a;
  for (const auto& td : decl.tensors) {
    if (td.role == Role::out) a[td.name] = b.outputs.at(td.name);
    if (td.role == Role::inout) a[td.name] = b.inout_after.at(td.name);
    if (td.role == Role::in) a[td.name] = b.inputs.at(td.name);
  }
  return a;
}

bool passes(const KernelDecl& decl, const Bundle& b, const TensorMap& a, const std::string& name) {
  for (const auto& c : score_outputs(decl, b, a))
    if (c.name.rfind(name, 0) == 0 && !c.passed) return false;
  return true;
}

TEST(MlaPrologFaults, ContractsCatchThem) {
  const KernelDecl& decl = kernel_or_throw("mla_prolog");
  {
    const Bundle& b = suite::bundle_for(find("mla_prolog.s1_quant.t=7.*eps_cq=1e-5.eps_ckv=1e-5"));
    TensorMap a = reference_outputs(decl, b);
    ASSERT_TRUE(passes(decl, b, a, "query_rope_out"));
    ASSERT_TRUE(passes(decl, b, a, "q_norm_out"));
    // query_rope_out re-interleaved (the official layout instead of R-V2's halves order).
    Tensor& qr = a.at("query_rope_out");
    const int64_t R = b.problem.dim("rope");
    std::vector<uint16_t> tmp(static_cast<size_t>(R));
    for (int64_t r = 0; r < qr.numel() / R; ++r) {
      uint16_t* y = qr.data<uint16_t>() + r * R;
      for (int64_t j = 0; j < R / 2; ++j) {
        tmp[static_cast<size_t>(2 * j)] = y[j];
        tmp[static_cast<size_t>(2 * j + 1)] = y[R / 2 + j];
      }
      std::memcpy(y, tmp.data(), tmp.size() * 2);
    }
    EXPECT_FALSE(passes(decl, b, a, "query_rope_out")) << "an interleaved query_rope_out passed";
    // One q_norm code off by 2.
    int8_t& c = a.at("q_norm_out").data<int8_t>()[3];
    c = static_cast<int8_t>(c > 0 ? c - 2 : c + 2);
    EXPECT_FALSE(passes(decl, b, a, "q_norm_out")) << "a code off by 2 passed";
  }
  {
    const Bundle& b = suite::bundle_for(find("mla_prolog.s3_nonquant.t=7.*eps_cq=1e-5"));
    TensorMap a = reference_outputs(decl, b);
    ASSERT_TRUE(passes(decl, b, a, "k_scale_cache"));
    // Non-quant mode must not write k_scale_cache: one scale row written anyway.
    const int64_t row = b.inputs.at("cache_index").data<int64_t>()[0] >= 0 ? b.inputs.at("cache_index").data<int64_t>()[0] : 0;
    a.at("k_scale_cache").data<float>()[row * 4] = 0.5f;
    EXPECT_FALSE(passes(decl, b, a, "k_scale_cache")) << "a k_scale_cache write in non-quant mode passed";
  }
}

}  // namespace

namespace {

using namespace kcs;

// Shape-level bad input (spec §9) is rejected by the declaration before any call; data-level bad
// input (cache_index out of range) is the catalog's expect_error case.
TEST(MlaPrologBadInput, ProblemChecksNameTheProblem) {
  const KernelDecl& decl = kernel_or_throw("mla_prolog");
  Problem good;
  good.kernel = "mla_prolog";
  good.dims = {{"t", 2},  {"h", 64},  {"q_lora", 64}, {"n1", 2},     {"nope", 16},      {"rope", 16},        {"kv_lora", 64},
               {"nq", 64}, {"nkv", 80}, {"dq_n", 64},   {"qs", 1},     {"block_num", 2}, {"block_size", 16}};
  good = complete_problem(decl, good);
  ASSERT_TRUE(validate_problem(decl, good));
  auto fails = [&](Problem p, const std::string& text) {
    const Status s = validate_problem(decl, p);
    EXPECT_FALSE(s) << text;
    EXPECT_NE(s.message.find(text), std::string::npos) << s.message;
  };
  Problem p = good;
  p.dims["rope"] = 15;
  p.dims["nq"] = 62;
  p.dims["nkv"] = 79;
  p.dims["dq_n"] = 62;
  fails(p, "rope = 15 must be even");
  p = good;
  p.dims["kv_lora"] = 66;
  p.dims["nkv"] = 82;
  fails(p, "kv_lora = 66 is not divisible by 4");
  p = good;
  p.attrs["q_dtype"] = "bfloat16";
  fails(p, "does not match the mode");
  p = good;
  p.dims["dq_n"] = 0;
  fails(p, "qs = 1");
  p = good;
  p.dims["nq"] = 63;
  fails(p, "nq = 63 must be n1 * (nope + rope)");
  p = good;
  p.attrs["eps_cq"] = "0";
  fails(p, "eps_cq = 0");
  // A call with a wrong-dtype tensor is refused before anything is written.
  TensorMap t;
  for (const auto& td : decl.tensors) t[td.name] = make_tensor(decl, good, td.name);
  t["w_dq"] = Tensor(DType::fp32, {64, 64});
  std::unique_ptr<Backend> ref = make_builtin_backend("reference");
  Invocation inv{&decl, &good, &t, TileConfig{}, 1};
  const Status s = ref->run(inv);
  EXPECT_FALSE(s);
  EXPECT_NE(s.message.find("w_dq"), std::string::npos) << s.message;
}

}  // namespace
