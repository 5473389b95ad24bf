// Gated softmax pooling conformance (spec §7.4; contract: spec §10.5 K5 rule for the fp32
// stage, see decl/softmax_pool.cc), plus the kernel's own properties:
//   EdgeSemantics        spec §9 K5 column, checked against the values the spec names (not only
//                        reference == optimized): all -inf -> NaN, +inf logit -> NaN, NaN
//                        logit / value -> NaN, all NEG_FILL -> the mean, +-80 logits
//   SinglePosition       M = 1 is exact for every implementation (spec §10.2)
//   IsasAgreeBitwise     AVX2 and AVX-512 run the same IEEE operations: identical bits (§10.7)
//   GuardedColumnTails   column tails read and write nothing past the last column
//   OddStripRejected     cols_per_cta must be even (spec §7.7)
#include <sys/mman.h>
#include <unistd.h>

#include <cfloat>
#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <vector>

#include "conformance/suites/suite.h"
#include "kcs/formats.h"
#include "kcs/kernels/softmax_pool.h"
#include "optimized/softmax_pool.h"
#include "optimized/variants.h"
#include "reference/primitives.h"

KCS_CONFORMANCE_SUITE(softmax_pool)

namespace kcs {
namespace {

using PoolFn = void (*)(const opt::PoolWindow&, int64_t, int64_t, float*);

// The implementations this CPU runs: the reference (nullptr) and each ISA variant.
std::vector<std::pair<std::string, PoolFn>> implementations() {
  std::vector<std::pair<std::string, PoolFn>> v = {{"reference", nullptr}};
  for (const auto& var : opt::runnable_variants(opt::kSoftmaxPoolVariants)) v.push_back({isa_name(var.isa), var.cols});
  return v;
}

// One block: logits and fp32 values [M, C], pooled by `fn` (nullptr = the reference column
// function, the one the reference backend uses).
std::vector<float> pool(PoolFn fn, int64_t M, int64_t C, const std::vector<float>& z, const std::vector<float>& v) {
  std::vector<float> out(static_cast<size_t>(C), -12345.0f);
  if (fn == nullptr) {
    std::vector<double> zd(z.begin(), z.end()), vd(v.begin(), v.end());
    for (int64_t c = 0; c < C; ++c)
      out[static_cast<size_t>(c)] = static_cast<float>(softmax_pool_column_reference(zd.data() + c, C, vd.data() + c, C, M).pooled);
    return out;
  }
  std::vector<const float*> zr;
  std::vector<const void*> vr;
  for (int64_t q = 0; q < M; ++q) {
    zr.push_back(z.data() + q * C);
    vr.push_back(v.data() + q * C);
  }
  opt::PoolWindow w;
  w.M = M;
  w.z = zr.data();
  w.v = vr.data();
  fn(w, 0, C, out.data());
  return out;
}

TEST(SoftmaxPoolProperties, EdgeSemantics) {
  const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
  const int64_t M = 8, C = 19;  // 19: the edge columns sit in full vectors and in a masked tail
  std::vector<float> z(M * C), v(M * C);
  for (int64_t q = 0; q < M; ++q)
    for (int64_t c = 0; c < C; ++c) {
      z[q * C + c] = 0.25f * static_cast<float>((q * 7 + c) % 5);
      v[q * C + c] = static_cast<float>(q + 1);  // 1..8
    }
  auto col = [&](int64_t c, auto f) {
    for (int64_t q = 0; q < M; ++q) f(q, z[q * C + c], v[q * C + c]);
  };
  // Per column: what the spec says the result is (NaN checked with isnan).
  std::vector<std::pair<int64_t, float>> expect;
  for (int64_t c0 : {0, 16}) {  // once in a full vector, once in the tail
    col(c0 + 0, [&](int64_t, float& zz, float&) { zz = -inf; });  // all -inf: 0/0
    expect.push_back({c0 + 0, nan});
    col(c0 + 1, [&](int64_t q, float& zz, float&) { zz = q == 3 ? -FLT_MAX : -inf; });  // one NEG_FILL: weight 1
    expect.push_back({c0 + 1, 4.0f});
    col(c0 + 2, [&](int64_t q, float& zz, float&) {
      if (q == 5) zz = inf;
    });  // +inf logit: exp(inf - inf)
    expect.push_back({c0 + 2, nan});
  }
  col(3, [&](int64_t, float& zz, float&) { zz = -FLT_MAX; });  // all NEG_FILL: the mean
  expect.push_back({3, 4.5f});
  col(4, [&](int64_t q, float& zz, float&) {
    if (q == 2) zz = nan;
  });  // NaN logit: skipped by the max, NaN weight
  expect.push_back({4, nan});
  col(5, [&](int64_t q, float& zz, float&) { zz = q == 6 ? 80.0f : -80.0f; });  // e^-160 vanishes in fp32 and
  expect.push_back({5, 7.0f});                                                   // is < 2^-200 in double
  col(6, [&](int64_t, float& zz, float&) { zz = 80.0f; });  // all equal (large): the mean, no overflow
  expect.push_back({6, 4.5f});
  col(7, [&](int64_t q, float& zz, float& vv) {
    zz = q == 0 ? -inf : 1.0f;
    if (q == 0) vv = nan;
  });  // NaN value with weight 0: 0 * NaN is NaN
  expect.push_back({7, nan});
  col(8, [&](int64_t q, float& zz, float& vv) {
    zz = q < 4 ? 2.0f : -inf;
    vv = q < 4 ? 3.0f : 0.0f;
  });  // fresh-block padding (-inf, value 0) adds nothing
  expect.push_back({8, 3.0f});
  for (const auto& [name, fn] : implementations()) {
    const std::vector<float> out = pool(fn, M, C, z, v);
    for (const auto& [c, want] : expect) {
      const float got = out[static_cast<size_t>(c)];
      if (std::isnan(want))
        EXPECT_TRUE(std::isnan(got)) << name << " column " << c << ": " << got;
      else
        EXPECT_EQ(got, want) << name << " column " << c;
    }
  }
}

TEST(SoftmaxPoolProperties, SinglePosition) {
  // M = 1: weight exp(0) = 1, den = 1, pooled = value exactly (spec §10.2), for any logit.
  for (int64_t C : {1, 7, 16, 33}) {
    std::vector<float> z(C), v(C);
    for (int64_t c = 0; c < C; ++c) {
      z[c] = static_cast<float>(c) * 13.7f - 200.0f;
      v[c] = std::ldexp(1.0f + static_cast<float>(c) / 64, static_cast<int>(c % 9) - 4) * (c % 2 ? -1.0f : 1.0f);
    }
    for (const auto& [name, fn] : implementations()) {
      const std::vector<float> out = pool(fn, 1, C, z, v);
      for (int64_t c = 0; c < C; ++c) EXPECT_EQ(f32_bits(out[c]), f32_bits(v[c])) << name << " C=" << C << " c=" << c;
    }
  }
}

TEST(SoftmaxPoolProperties, IsasAgreeBitwise) {
  if (!isa_missing(Isa::avx512).empty() || !isa_missing(Isa::avx2).empty())
    GTEST_SKIP() << "skipped: needs both variants (" << isa_missing(Isa::avx512) << ")";
  const KernelDecl& decl = kernel_or_throw("softmax_pool");
  auto a = make_isa_backend(Isa::avx512), b = make_isa_backend(Isa::avx2);
  int cases = 0;
  for (const auto& cs : select_cases(suite::catalog("softmax_pool"), suite::env_tier())) {
    if (!cs.expect_error.empty()) continue;
    const Bundle& bundle = suite::bundle_for(cs);
    const TensorMap x = suite::call(decl, bundle, *a, TileConfig{}, 1);
    const TensorMap y = suite::call(decl, bundle, *b, TileConfig{}, 1);
    EXPECT_TRUE(x.at("pooled").same_bytes(y.at("pooled"))) << cs.id;
    ++cases;
  }
  EXPECT_GT(cases, 0);
}

// `bytes` usable bytes that end exactly at an inaccessible page.
class GuardedBuffer {
 public:
  explicit GuardedBuffer(size_t bytes) {
    const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    const size_t body = (bytes + page - 1) / page * page;
    total_ = body + page;
    void* m = mmap(nullptr, total_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) throw std::runtime_error("mmap failed");
    base_ = static_cast<uint8_t*>(m);
    if (mprotect(base_ + body, page, PROT_NONE) != 0) throw std::runtime_error("mprotect failed");
    data_ = base_ + body - bytes;
  }
  ~GuardedBuffer() { munmap(base_, total_); }
  GuardedBuffer(const GuardedBuffer&) = delete;
  GuardedBuffer& operator=(const GuardedBuffer&) = delete;
  uint8_t* data() { return data_; }

 private:
  uint8_t* base_ = nullptr;
  uint8_t* data_ = nullptr;
  size_t total_ = 0;
};

TEST(SoftmaxPoolProperties, GuardedColumnTails) {
  // Every logit row, value row and the output end at a PROT_NONE page: a read or write past
  // column C crashes. Strips [c0, C) with odd starts exercise unaligned masked tails.
  const int64_t M = 3;
  for (const auto& [name, fn] : implementations()) {
    if (fn == nullptr) continue;
    for (bool bf16 : {false, true}) {
      for (int64_t C = 1; C <= 40; ++C) {
        std::vector<std::unique_ptr<GuardedBuffer>> bufs;
        std::vector<const float*> zr;
        std::vector<const void*> vr;
        for (int64_t q = 0; q < M; ++q) {
          bufs.push_back(std::make_unique<GuardedBuffer>(C * 4));
          auto* z = reinterpret_cast<float*>(bufs.back()->data());
          for (int64_t c = 0; c < C; ++c) z[c] = static_cast<float>(q + c % 3);
          zr.push_back(z);
          bufs.push_back(std::make_unique<GuardedBuffer>(C * (bf16 ? 2 : 4)));
          uint8_t* v = bufs.back()->data();
          for (int64_t c = 0; c < C; ++c) {
            if (bf16)
              reinterpret_cast<uint16_t*>(v)[c] = bf16_from_float(2.0f);
            else
              reinterpret_cast<float*>(v)[c] = 2.0f;
          }
          vr.push_back(v);
        }
        GuardedBuffer out(C * 4);
        auto* o = reinterpret_cast<float*>(out.data());
        opt::PoolWindow w;
        w.M = M;
        w.z = zr.data();
        w.v = vr.data();
        w.v_bf16 = bf16;
        for (int64_t c0 = 0; c0 < C; c0 += 5) {
          for (int64_t c = 0; c < C; ++c) o[c] = -1.0f;
          fn(w, c0, C, o);
          for (int64_t c = 0; c < C; ++c) EXPECT_EQ(o[c], c < c0 ? -1.0f : 2.0f) << name << " C=" << C << " c0=" << c0;
        }
      }
    }
  }
}

TEST(SoftmaxPoolProperties, OddStripRejected) {
  const KernelDecl& decl = kernel_or_throw("softmax_pool");
  const CaseSpec* cs = find_case(suite::catalog("softmax_pool"), "softmax_pool.s_csa.n_blocks=3.M=8.C=64");
  ASSERT_NE(cs, nullptr);
  const Bundle& b = suite::bundle_for(*cs);
  for (Isa isa : {Isa::avx512, Isa::avx2}) {
    auto be = make_isa_backend(isa);
    if (!be->availability().runnable) continue;
    TensorMap t;
    for (const auto& td : decl.tensors)
      t.emplace(td.name, td.role == Role::in ? b.inputs.at(td.name) : make_tensor(decl, b.problem, td.name));
    Invocation inv{&decl, &b.problem, &t, TileConfig::parse("cols_per_cta=3"), 1};
    const Status s = be->run(inv);
    EXPECT_FALSE(s.ok) << isa_name(isa);
    EXPECT_NE(s.message.find("cols_per_cta = 3 is out of range: valid 0..16777216, a multiple of 2"), std::string::npos) << s.message;
  }
}

}  // namespace
}  // namespace kcs
