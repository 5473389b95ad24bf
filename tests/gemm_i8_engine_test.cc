// Direct tests of the gemm_i8 engines (optimized/gemm_i8.h) against gemm_i8_reference, below
// the Invocation layer: both weight paths (direct row-major and prepacked) on every m / n / k
// tail of the register tiles, leading dimensions larger than the rows, sub-block calls that must
// write only their block, optional outputs, the int32 range of the VNNI bias trick at the
// largest legal K, and the packed layouts themselves.
//
// Operands live at the very end of mmap'ed regions followed by a PROT_NONE page, so an engine
// that reads or writes one byte past its data crashes the test.
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <ostream>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "kcs/cpu.h"
#include "kcs/formats.h"
#include "kcs/kernels/gemm_i8.h"
#include "optimized/gemm_i8.h"
#include "reference/primitives.h"

namespace kcs {

void PrintTo(Isa isa, std::ostream* os) { *os << isa_name(isa); }

namespace {

// `bytes` usable bytes that end exactly at an inaccessible page.
class GuardedBuffer {
 public:
  explicit GuardedBuffer(size_t bytes) {
    const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    const size_t body = (bytes + page - 1) / page * page + page;
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
  template <class T>
  T* as() {
    return reinterpret_cast<T*>(data_);
  }

 private:
  uint8_t* base_ = nullptr;
  uint8_t* data_ = nullptr;
  size_t total_ = 0;
};

// One GEMM with guarded operands and padded leading dimensions.
struct GemmCase {
  int64_t m, k, n, lda, ldw, ldy;
  GuardedBuffer a, w, sr, sc;
  GemmCase(int64_t m_, int64_t k_, int64_t n_, int64_t pad, uint64_t seed)
      : m(m_),
        k(k_),
        n(n_),
        lda(k_ + pad),
        ldw(n_ + pad),
        ldy(n_ + pad),
        a(static_cast<size_t>(m_ > 0 ? (m_ - 1) * (k_ + pad) + k_ : 0)),
        w(static_cast<size_t>((k_ - 1) * (n_ + pad) + n_)),
        sr(static_cast<size_t>(m_) * 4),
        sc(static_cast<size_t>(n_) * 4) {
    std::mt19937_64 rng(seed);
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < k; ++j) a.as<int8_t>()[i * lda + j] = static_cast<int8_t>(rng() & 0xFF);
    for (int64_t j = 0; j < k; ++j)
      for (int64_t c = 0; c < n; ++c) w.as<int8_t>()[j * ldw + c] = static_cast<int8_t>(rng() & 0xFF);
    std::uniform_real_distribution<float> u(-2.0f, 2.0f);
    for (int64_t i = 0; i < m; ++i) sr.as<float>()[i] = u(rng) * 0x1p-10f;
    for (int64_t c = 0; c < n; ++c) sc.as<float>()[c] = u(rng) * 0x1p-6f;
  }
  GemmI8Args args() {
    GemmI8Args g;
    g.m = m;
    g.k = k;
    g.n = n;
    g.a = a.as<int8_t>();
    g.lda = lda;
    g.w = w.as<int8_t>();
    g.ldw = ldw;
    g.s_row = sr.as<float>();
    g.s_col = sc.as<float>();
    g.ldacc = ldy;
    g.ldy = ldy;
    return g;
  }
};

// Output buffers [m, ldy], guarded at the end, pre-filled with a pattern so unwritten (or wrongly
// written) elements show.
struct Outputs {
  GuardedBuffer acc, y;
  size_t acc_bytes, y_bytes;
  Outputs(int64_t m, int64_t n, int64_t ldy, DType yd)
      : acc(static_cast<size_t>(m > 0 ? (m - 1) * ldy + n : 0) * 4),
        y(static_cast<size_t>(m > 0 ? (m - 1) * ldy + n : 0) * (yd == DType::bf16 ? 2 : 4)),
        acc_bytes(static_cast<size_t>(m > 0 ? (m - 1) * ldy + n : 0) * 4),
        y_bytes(static_cast<size_t>(m > 0 ? (m - 1) * ldy + n : 0) * (yd == DType::bf16 ? 2 : 4)) {
    std::memset(acc.as<uint8_t>(), 0xA5, acc_bytes);
    std::memset(y.as<uint8_t>(), 0xA5, y_bytes);
  }
  void bind(GemmI8Args& g, DType yd) {
    g.acc = acc.as<int32_t>();
    g.y = y.as<void>();
    g.y_dtype = yd;
  }
  bool same(Outputs& o) {
    return std::memcmp(acc.as<uint8_t>(), o.acc.as<uint8_t>(), acc_bytes) == 0 &&
           std::memcmp(y.as<uint8_t>(), o.y.as<uint8_t>(), y_bytes) == 0;
  }
};

class GemmI8Engine : public testing::TestWithParam<Isa> {
 protected:
  void SetUp() override {
    if (!isa_missing(GetParam()).empty()) GTEST_SKIP() << "skipped: " << isa_missing(GetParam());
  }
};

std::string what(int64_t m, int64_t k, int64_t n, DType yd, bool packed, const opt::GemmI8Tiling& t) {
  return "m=" + std::to_string(m) + " k=" + std::to_string(k) + " n=" + std::to_string(n) + " y=" + dtype_name(yd) +
         (packed ? " packed" : " direct") + " m_tile=" + std::to_string(t.m_tile) +
         " n_tile=" + std::to_string(t.n_tile) + " k_block=" + std::to_string(t.block.k_block);
}

// Every tail of the register tiles (rows 1..6 / 1..4, columns around 16 / 64 / 256, K around the
// 2 / 4 groups), both weight paths, several tilings (k_block 64: direct passes split at 8 steps),
// padded leading dimensions.
TEST_P(GemmI8Engine, MatchesReferenceOnEveryTail) {
  const Isa isa = GetParam();
  const opt::GemmI8Tiling tilings[] = {{64, 256, {0}}, {1, 17, {0}}, {5, 0, {4}}, {0, 65, {7}}, {3, 64, {1}},
                                       {2, 0, {64}}};
  uint64_t seed = 1;
  for (int64_t m : {1, 2, 3, 5, 6, 7, 13, 49})
    for (int64_t k : {1, 3, 4, 5, 67})
      for (int64_t n : {1, 17, 63, 65, 257, 300}) {
        GemmCase p(m, k, n, (m + k + n) % 3 == 0 ? 0 : 5, seed++);
        for (DType yd : {DType::fp32, DType::bf16}) {
          Outputs want(m, n, p.ldy, yd);
          GemmI8Args g = p.args();
          want.bind(g, yd);
          gemm_i8_reference(g, 0, m, 0, n);
          const opt::PackedI8Weights pw = opt::pack_i8_weights(isa, p.w.as<int8_t>(), p.ldw, k, n, 1);
          for (bool packed : {false, true})
            for (const opt::GemmI8Tiling& t : tilings) {
              Outputs got(m, n, p.ldy, yd);
              GemmI8Args h = p.args();
              got.bind(h, yd);
              opt::gemm_i8_run(isa, h, packed ? &pw.view() : nullptr, t, 1);
              ASSERT_TRUE(want.same(got)) << what(m, k, n, yd, packed, t);
            }
        }
      }
}

// A call on a sub-block writes exactly that block (fused kernels call the engine per token tile).
TEST_P(GemmI8Engine, SubBlockWritesOnlyItsBlock) {
  const Isa isa = GetParam();
  GemmCase p(11, 37, 150, 3, 7);
  const opt::PackedI8Weights pw = opt::pack_i8_weights(isa, p.w.as<int8_t>(), p.ldw, p.k, p.n, 1);
  for (bool packed : {false, true}) {
    Outputs want(p.m, p.n, p.ldy, DType::bf16), got(p.m, p.n, p.ldy, DType::bf16);
    GemmI8Args g = p.args(), h = p.args();
    want.bind(g, DType::bf16);
    got.bind(h, DType::bf16);
    gemm_i8_reference(g, 2, 9, 5, 133);
    (isa == Isa::avx512 ? opt::gemm_i8_avx512 : opt::gemm_i8_avx2)(h, packed ? &pw.view() : nullptr,
                                                                   opt::GemmI8Blocking{}, 2, 9, 5, 133);
    EXPECT_TRUE(want.same(got)) << (packed ? "packed" : "direct");
  }
}

// acc and y are optional: each alone gives the same bits as both together.
TEST_P(GemmI8Engine, OptionalOutputs) {
  const Isa isa = GetParam();
  GemmCase p(7, 200, 130, 0, 9);
  Outputs both(p.m, p.n, p.ldy, DType::fp32), only(p.m, p.n, p.ldy, DType::fp32);
  GemmI8Args g = p.args();
  both.bind(g, DType::fp32);
  opt::gemm_i8_run(isa, g, nullptr, {}, 1);
  GemmI8Args h = p.args();
  only.bind(h, DType::fp32);
  h.y = nullptr;
  opt::gemm_i8_run(isa, h, nullptr, {}, 1);
  h = p.args();
  only.bind(h, DType::fp32);
  h.acc = nullptr;
  opt::gemm_i8_run(isa, h, nullptr, {}, 1);
  EXPECT_TRUE(both.same(only));
}

// At the largest legal K, |acc| reaches 2^14·K = 2^31 − 2^14. The VNNI path must keep its partial
// sums in range: it starts the accumulators at the correction −128·Σ a; the textbook order (zero
// start, Σ a·(w + 128) up to 127·255·K ≈ 4.2e9, correction at the end) would leave int32, which a
// saturating accumulate (vpdpbusds) turns into wrong results. Seen failing with that order.
TEST_P(GemmI8Engine, ExactAtTheLargestK) {
  const Isa isa = GetParam();
  const int64_t k = kGemmI8MaxK, n = 20;
  GemmCase p(4, k, n, 0, 11);
  const int8_t rows[4] = {127, -128, 127, -128}, cols[4] = {127, -128, -128, 127};
  for (int64_t i = 0; i < 4; ++i)
    for (int64_t j = 0; j < k; ++j) p.a.as<int8_t>()[i * k + j] = rows[i];
  for (int64_t j = 0; j < k; ++j)
    for (int64_t c = 0; c < n; ++c) p.w.as<int8_t>()[j * n + c] = c < 4 ? cols[c] : static_cast<int8_t>(c * 37 + j);
  Outputs want(4, n, n, DType::fp32);
  GemmI8Args g = p.args();
  want.bind(g, DType::fp32);
  gemm_i8_reference(g, 0, 4, 0, n);
  EXPECT_EQ(want.acc.as<int32_t>()[0], 127 * 127 * k);
  EXPECT_EQ(want.acc.as<int32_t>()[n + 1], 128 * 128 * k);
  const opt::PackedI8Weights pw = opt::pack_i8_weights(isa, p.w.as<int8_t>(), n, k, n, 1);
  for (bool packed : {false, true}) {
    Outputs got(4, n, n, DType::fp32);
    GemmI8Args h = p.args();
    got.bind(h, DType::fp32);
    opt::gemm_i8_run(isa, h, packed ? &pw.view() : nullptr, {}, 1);
    EXPECT_TRUE(want.same(got)) << (packed ? "packed" : "direct");
  }
}

// The packed layouts as optimized/gemm_i8.h documents them, element by element.
TEST_P(GemmI8Engine, PackedLayoutIsTheDocumentedOne) {
  const Isa isa = GetParam();
  const int64_t k = 11, n = 70, ldw = 73;
  GemmCase p(1, k, n, ldw - n, 13);
  const opt::PackedI8Weights pw = opt::pack_i8_weights(isa, p.w.as<int8_t>(), ldw, k, n, 1);
  ASSERT_EQ(pw.bytes(), opt::packed_i8_bytes(isa, k, n));
  const uint8_t* d = pw.view().data;
  const int64_t cols = opt::packed_i8_panel_cols(isa);
  const int64_t group = isa == Isa::avx512 ? 4 : 2;
  const int64_t groups = (k + group - 1) / group;
  const uint8_t bias = isa == Isa::avx512 ? 0x80 : 0x00;
  for (int64_t panel = 0; panel < (n + cols - 1) / cols; ++panel)
    for (int64_t gi = 0; gi < groups; ++gi)
      for (int64_t c = 0; c < cols; ++c)
        for (int64_t e = 0; e < group; ++e) {
          const int64_t kk = gi * group + e, nn = panel * cols + c;
          const int8_t w = kk < k && nn < n ? p.w.as<int8_t>()[kk * ldw + nn] : 0;
          const size_t at = static_cast<size_t>(((panel * groups + gi) * cols + c) * group + e);
          ASSERT_EQ(d[at], static_cast<uint8_t>(static_cast<uint8_t>(w) ^ bias))
              << "panel " << panel << " k " << kk << " col " << nn;
        }
}

INSTANTIATE_TEST_SUITE_P(Isas, GemmI8Engine, testing::Values(Isa::avx512, Isa::avx2),
                         [](const testing::TestParamInfo<Isa>& i) { return std::string(isa_name(i.param)); });

}  // namespace
}  // namespace kcs
