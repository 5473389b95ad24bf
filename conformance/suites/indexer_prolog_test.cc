// K1 indexer_prolog conformance (spec §3): the generic suite (catalog x backend x tile, tier B
// contracts, determinism, tile invariance, committed bundles), the stage-isolated tier A suite,
// and the K1-specific properties below.
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "conformance/suites/suite.h"
#include "kcs/formats.h"

KCS_CONFORMANCE_SUITE(indexer_prolog)
KCS_STAGE_SUITE(indexer_prolog)

namespace {

using kcs::Bundle;
using kcs::DType;
using kcs::Tensor;
using kcs::TensorMap;

const kcs::KernelDecl& decl() { return kcs::kernel_or_throw("indexer_prolog"); }

std::vector<const kcs::CaseSpec*> cases(const std::string& scenario = "") {
  std::vector<const kcs::CaseSpec*> out;
  const kcs::Catalog& c = kcs::suite::catalog("indexer_prolog");
  for (const auto& cs : kcs::select_cases(c, kcs::suite::env_tier()))
    if (cs.expect_error.empty() && (scenario.empty() || cs.scenario == scenario))
      out.push_back(kcs::find_case(c, cs.id));
  return out;
}

std::vector<std::unique_ptr<kcs::Backend>> runnable() {
  std::vector<std::unique_ptr<kcs::Backend>> out;
  for (auto& b : kcs::builtin_backends())
    if (b->availability().runnable && b->name() != "optimized") out.push_back(std::move(b));
  return out;
}

// Spec §10.6 through the whole query path: the ties scenario's token has, in every head, the Q8
// input [127, 0.5, 1.5, 2.5, -2.5, 3.5, 126.5, -126.5, 0] at the nope columns (zeros elsewhere),
// so rint gives [127, 0, 2, 2, -2, 4, 126, -126, 0] and the scale fp16(1/(127/127)) = 1.0.
TEST(IndexerProlog, TieRowGivesRintCodes) {
  const auto cs = cases("ties");
  if (cs.empty()) GTEST_SKIP() << "no ties case in this tier";
  static const int8_t want[9] = {127, 0, 2, 2, -2, 4, 126, -126, 0};
  for (const auto* c : cs) {
    const Bundle& b = kcs::suite::bundle_for(*c);
    const int64_t t = b.problem.dim("t"), H = b.problem.dim("H"), D = b.problem.dim("D"), R = b.problem.dim("R"),
                  ql = b.problem.dim("q_lora");
    int64_t i0 = -1;
    for (int64_t i = 0; i < t; ++i) {
      const int8_t* q = b.inputs.at("q_norm").data<int8_t>() + i * ql;
      bool tie = b.inputs.at("q_norm_scale").data<float>()[i] == 0.5f && q[0] == 1 && q[1] == 1;
      for (int64_t k = 2; k < ql; ++k) tie = tie && q[k] == 0;
      if (tie) i0 = i;
    }
    ASSERT_GE(i0, 0) << c->id << ": no tie token";
    for (auto& be : runnable()) {
      const TensorMap out = kcs::suite::call(decl(), b, *be, kcs::TileConfig{}, 1);
      for (int64_t hd = 0; hd < H; ++hd) {
        const int8_t* q = out.at("q_int8").data<int8_t>() + (i0 * H + hd) * D;
        for (int64_t j = 0; j < D; ++j) {
          const int64_t m = j - R;
          const int expect = m >= 0 && m < 9 ? want[m] : 0;
          EXPECT_EQ(q[j], expect) << c->id << " on " << be->name() << " head " << hd << " column " << j;
        }
        EXPECT_EQ(out.at("q_scale").data<uint16_t>()[i0 * H + hd], 0x3C00) << c->id << " on " << be->name();
      }
    }
  }
}

// Spec §1.8 / §10.7: t calls of one token each (in token order, on the same caches) give the
// same bytes as one batched call. With t > 8 the batched call takes the packed-weight paths and
// the single calls the direct ones, so this also ties the two paths together.
TEST(IndexerProlog, BatchInvariant) {
  int ran = 0;
  for (const auto* c : cases()) {
    const Bundle& b = kcs::suite::bundle_for(*c);
    const int64_t t = b.problem.dim("t");
    if (t < 2) continue;
    for (kcs::Isa isa : {kcs::Isa::avx512, kcs::Isa::avx2}) {
      auto be = kcs::make_isa_backend(isa);
      if (!be->availability().runnable) continue;
      ++ran;
      const TensorMap whole = kcs::suite::call(decl(), b, *be, kcs::TileConfig{}, 1);
      Bundle one = b;
      one.problem.dims["t"] = 1;
      // Caches carry over from call to call.
      one.inout_before.at("k_cache") = b.inout_before.at("k_cache");
      one.inout_before.at("k_scale_cache") = b.inout_before.at("k_scale_cache");
      for (int64_t i = 0; i < t; ++i) {
        for (const char* name : {"x", "q_norm", "q_norm_scale", "cos", "sin", "k_cache_index"}) {
          const Tensor& src = b.inputs.at(name);
          kcs::Shape s = src.shape();
          s[0] = 1;
          Tensor row(src.dtype(), s);
          std::memcpy(row.raw(), static_cast<const char*>(src.raw()) + i * row.nbytes(), row.nbytes());
          one.inputs.at(name) = row;
        }
        TensorMap got = kcs::suite::call(decl(), one, *be, kcs::TileConfig{}, 1);
        for (const char* name : {"q_int8", "q_scale", "weights"}) {
          const Tensor& w = whole.at(name);
          const size_t n = got.at(name).nbytes();
          EXPECT_EQ(std::memcmp(got.at(name).raw(), static_cast<const char*>(w.raw()) + i * n, n), 0)
              << c->id << " on " << be->name() << ": " << name << " of token " << i << " differs from the batched call";
        }
        one.inout_before.at("k_cache") = got.at("k_cache");
        one.inout_before.at("k_scale_cache") = got.at("k_scale_cache");
      }
      EXPECT_TRUE(one.inout_before.at("k_cache").same_bytes(whole.at("k_cache"))) << c->id << " on " << be->name();
      EXPECT_TRUE(one.inout_before.at("k_scale_cache").same_bytes(whole.at("k_scale_cache")))
          << c->id << " on " << be->name();
    }
  }
  if (!ran) GTEST_SKIP() << "no optimized variant runs here, or no case with t >= 2";
}

// Spec §10.5 K1 weights: besides the hard bound (the declared contract), the rate of elements
// more than one FP16 ulp off the reference is at most 1% (at most ceil(1% numel) elements).
TEST(IndexerProlog, WeightsFlipRateAtMostOnePercent) {
  for (const auto* c : cases()) {
    const Bundle& b = kcs::suite::bundle_for(*c);
    const Tensor& r = b.outputs.at("weights");
    if (r.numel() == 0) continue;
    for (auto& be : runnable()) {
      if (be->name() == "reference") continue;  // the reference against itself
      for (const auto& tile : kcs::suite::catalog("indexer_prolog").tiles) {
        // Token tiles and head chunks never change a bit (TileInvariant): the default tile and
        // the K-blocked ones cover every distinct result.
        bool kblocked = false;
        for (const auto& kd : decl().knobs)
          if (!kd.bit_invariant && tile.get(decl(), kd.name) != kd.default_value) kblocked = true;
        if (!kblocked && tile.name() != kcs::suite::catalog("indexer_prolog").tiles.front().name()) continue;
        const TensorMap out = kcs::suite::call(decl(), b, *be, tile, 1);
        const uint16_t* a = out.at("weights").data<uint16_t>();
        int64_t bad = 0;
        for (int64_t e = 0; e < r.numel(); ++e) {
          const uint16_t ru = r.data<uint16_t>()[e];
          const double rv = kcs::fp16_to_float(ru);
          const double ulp = std::ldexp(1.0, std::max(std::ilogb(std::fabs(rv)), -14) - 10);
          bad += std::fabs(kcs::fp16_to_float(a[e]) - rv) > (rv == 0 ? std::ldexp(1.0, -24) : ulp);
        }
        const int64_t allowed = (r.numel() + 99) / 100;
        EXPECT_LE(bad, allowed) << c->id << " on " << be->name() << " tile " << tile.name() << ": " << bad << " of "
                                << r.numel() << " weights more than 1 fp16 ulp off";
      }
    }
  }
}

// Spec §9 bad inputs: a clear error naming the tensor or dimension, and nothing written.
TEST(IndexerProlog, RejectsBadInputNamingIt) {
  const auto cs = cases();
  ASSERT_FALSE(cs.empty());
  const Bundle& good = kcs::suite::bundle_for(*cs.front());
  struct Bad {
    std::string what, expect;
    std::function<void(Bundle&)> edit;
  };
  const std::vector<Bad> bads = {
      {"odd rope dim", "R = ", [](Bundle& b) { b.problem.dims["R"] += 1; }},
      {"head dim below rope dim", "smaller than the rope dim",
       [](Bundle& b) { b.problem.dims["R"] = b.problem.dims["D"] + 2; }},
      {"x of the wrong dtype", "tensor 'x' has dtype",
       [](Bundle& b) { b.inputs.at("x") = Tensor(DType::fp32, b.inputs.at("x").shape()); }},
      {"w_proj of the wrong shape", "tensor 'w_proj' has shape",
       [](Bundle& b) {
         Tensor& w = b.inputs.at("w_proj");
         w = Tensor(w.dtype(), {w.dim(0), w.dim(1) + 1});
       }},
      {"cache index at capacity", "k_cache_index: index[",
       [](Bundle& b) {
         b.inputs.at("k_cache_index").data<int64_t>()[0] = b.problem.dim("block_num") * b.problem.dim("block_size");
       }},
  };
  for (const auto& bad : bads) {
    Bundle b = good;
    bad.edit(b);
    for (auto& be : runnable()) {
      TensorMap t;
      for (const auto& td : decl().tensors) {
        if (td.role == kcs::Role::in) t.emplace(td.name, b.inputs.at(td.name));
        if (td.role == kcs::Role::inout) t.emplace(td.name, b.inout_before.at(td.name));
        if (td.role == kcs::Role::out) {
          Tensor o(good.outputs.at(td.name).dtype(), good.outputs.at(td.name).shape());
          o.fill_bytes(0xA5);
          t.emplace(td.name, o);
        }
      }
      const TensorMap before = t;
      kcs::Invocation inv{&decl(), &b.problem, &t, kcs::TileConfig{}, 1};
      const kcs::Status s = be->run(inv);
      EXPECT_FALSE(s.ok) << bad.what << " accepted by " << be->name();
      EXPECT_NE(s.message.find(bad.expect), std::string::npos)
          << bad.what << " on " << be->name() << ": message '" << s.message << "' lacks '" << bad.expect << "'";
      for (const auto& [name, tensor] : t)
        EXPECT_TRUE(tensor.same_bytes(before.at(name))) << bad.what << " on " << be->name() << " wrote " << name;
    }
  }
}

}  // namespace

#include "kcs/cpu.h"
#include "optimized/gemm_bf16.h"
#include "optimized/indexer_prolog.h"

namespace {

// The decode path's direct BF16 GEMM (optimized/indexer_prolog.h) claims the packed engine's exact
// bits, which lets the adapter switch paths by token count without breaking batch invariance.
// The fused outputs round kf / wb to BF16 and then quantize, which hides most fp32 order changes,
// so the claim is checked here on the fp32 sums themselves: odd and even K, K blocks, column
// ranges that start inside a 16-column strip, 1..7 rows.
TEST(IndexerProlog, DirectBf16PathMatchesEngine) {
  int ran = 0;
  for (kcs::Isa isa : {kcs::Isa::avx512, kcs::Isa::avx2}) {
    if (!kcs::isa_missing(isa).empty()) continue;
    ++ran;
    auto direct = isa == kcs::Isa::avx512 ? &kcs::opt::ip_bf16_direct_avx512 : &kcs::opt::ip_bf16_direct_avx2;
    uint64_t s = 99;
    auto rnd = [&]() {
      s = s * 6364136223846793005ull + 1442695040888963407ull;
      return kcs::bf16_from_double(static_cast<double>(static_cast<int64_t>(s >> 11) - (int64_t{1} << 52)) * 0x1.0p-52);
    };
    for (int64_t k : {1, 2, 37, 128, 301}) {
      for (int64_t n : {1, 19, 64, 130}) {
        for (int64_t m : {1, 3, 4, 7}) {
          for (int64_t kb : {0, 6, 64}) {
            std::vector<uint16_t> a(static_cast<size_t>(m * k)), w(static_cast<size_t>(k * n));
            for (auto& v : a) v = rnd();
            for (auto& v : w) v = rnd();
            kcs::opt::PackedBf16Weights pw = kcs::opt::pack_bf16_weights(w.data(), 1, k, n, n, 0, 1);
            kcs::opt::GemmBf16Args g;
            g.m = m;
            g.k = k;
            g.n = n;
            g.a = a.data();
            g.lda = k;
            std::vector<float> ye(static_cast<size_t>(m * n)), yd(static_cast<size_t>(m * n), -1.0f);
            g.y = ye.data();
            g.ldy = n;
            g.y_dtype = kcs::DType::fp32;
            g.k_block = kb;
            kcs::opt::gemm_bf16_tile(isa, g, pw.view(), 0, 0, m, 0, n);
            const int64_t n0 = n > 5 ? 5 : 0;  // a column range starting inside a strip
            kcs::opt::Bf16Direct d;
            d.a = a.data();
            d.lda = k;
            d.m = m;
            d.k = k;
            d.w = w.data();
            d.ldw = n;
            d.k_block = kb;
            d.y = yd.data();
            d.ldy = n;
            direct(d, n0, n);
            for (int64_t r = 0; r < m; ++r)
              for (int64_t c = n0; c < n; ++c)
                ASSERT_EQ(kcs::f32_bits(yd[static_cast<size_t>(r * n + c - n0)]), kcs::f32_bits(ye[static_cast<size_t>(r * n + c)]))
                    << kcs::isa_name(isa) << " m " << m << " k " << k << " n " << n << " k_block " << kb << " row " << r
                    << " column " << c;
          }
        }
      }
    }
  }
  if (!ran) GTEST_SKIP() << "no optimized variant runs on this CPU";
}

}  // namespace

namespace {

// Weights prepacked by the caller (IndexerPrologArgs::*_packed) give the bytes of the Invocation
// path, which packs or streams row-major weights depending on t.
TEST(IndexerProlog, PrepackedWeightsSameBits) {
  int ran = 0;
  for (const auto* c : cases()) {
    const Bundle& b = kcs::suite::bundle_for(*c);
    const kcs::Problem& p = b.problem;
    if (p.dim("t") == 0) continue;
    for (kcs::Isa isa : {kcs::Isa::avx512, kcs::Isa::avx2}) {
      auto be = kcs::make_isa_backend(isa);
      if (!be->availability().runnable) continue;
      ++ran;
      const TensorMap want = kcs::suite::call(decl(), b, *be, kcs::TileConfig{}, 1);
      TensorMap t;
      for (const auto& td : decl().tensors) {
        if (td.role == kcs::Role::in) t.emplace(td.name, b.inputs.at(td.name));
        if (td.role == kcs::Role::inout) t.emplace(td.name, b.inout_before.at(td.name));
        if (td.role == kcs::Role::out) t.emplace(td.name, Tensor(want.at(td.name).dtype(), want.at(td.name).shape()));
      }
      const int64_t h = p.dim("h"), ql = p.dim("q_lora"), H = p.dim("H"), D = p.dim("D");
      const auto qb = kcs::opt::pack_i8_weights(isa, t.at("w_qb").data<int8_t>(), H * D, ql, H * D, 1);
      const auto wk = kcs::opt::pack_bf16_weights(t.at("wk").data<uint16_t>(), 1, h, D, D, 0, 1);
      const auto wp = kcs::opt::pack_bf16_weights(t.at("w_proj").data<uint16_t>(), 1, h, H, H, 0, 1);
      kcs::opt::IndexerPrologArgs a;
      a.t = p.dim("t");
      a.h = h;
      a.q_lora = ql;
      a.H = H;
      a.D = D;
      a.R = p.dim("R");
      a.block_num = p.dim("block_num");
      a.block_size = p.dim("block_size");
      a.eps = static_cast<float>(p.attr_f64("eps"));
      a.x = t.at("x").data<uint16_t>();
      a.q_norm = t.at("q_norm").data<int8_t>();
      a.q_norm_scale = t.at("q_norm_scale").data<float>();
      a.w_qb = t.at("w_qb").data<int8_t>();
      a.w_qb_scale = t.at("w_qb_scale").data<float>();
      a.wk = t.at("wk").data<uint16_t>();
      a.w_proj = t.at("w_proj").data<uint16_t>();
      a.ln_gamma_k = t.at("ln_gamma_k").data<uint16_t>();
      a.ln_beta_k = t.at("ln_beta_k").data<uint16_t>();
      a.cos = t.at("cos").data<uint16_t>();
      a.sin = t.at("sin").data<uint16_t>();
      a.hadamard_q = t.at("hadamard_q").data<uint16_t>();
      a.hadamard_k = t.at("hadamard_k").data<uint16_t>();
      a.k_cache = t.at("k_cache").data<int8_t>();
      a.k_scale_cache = t.at("k_scale_cache").data<uint16_t>();
      a.k_cache_index = t.at("k_cache_index").data<int64_t>();
      a.q_int8 = t.at("q_int8").data<int8_t>();
      a.q_scale = t.at("q_scale").data<uint16_t>();
      a.weights = t.at("weights").data<uint16_t>();
      a.w_qb_packed = &qb.view();
      a.wk_packed = &wk.view();
      a.w_proj_packed = &wp.view();
      kcs::opt::indexer_prolog_run(isa, a, kcs::opt::IndexerPrologTiles{}, 1);
      kcs::suite::expect_same_outputs(decl(), want, t, c->id + " prepacked on " + be->name());
    }
  }
  if (!ran) GTEST_SKIP() << "no optimized variant runs on this CPU";
}

}  // namespace
