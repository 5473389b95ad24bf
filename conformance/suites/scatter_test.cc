// scatter_update conformance (spec §1.6): touched rows exact, every other byte untouched, and
// bad indices rejected before any write (expect_error cases). Kernel-specific properties:
//   LastWriters             the duplicate resolution the threaded path relies on
//   LastWinsAnyThreadsTiles every ISA, every catalog tile, 1 and 2 threads, duplicate cases:
//                           the cache equals the reference's (the golden's token loop)
//   NzOffsets               the PA_NZ formula of spec §1.6 on hand-computed elements
//   GuardedRowCopies        row copies of every length read and write nothing past the row
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <stdexcept>
#include <vector>

#include "conformance/suites/suite.h"
#include "kcs/kernels/scatter.h"
#include "optimized/scatter.h"

KCS_CONFORMANCE_SUITE(scatter)

namespace kcs {
namespace {

TEST(ScatterProperties, LastWriters) {
  const int64_t index[] = {5, -1, 7, 5, 9, 7, 5, -3, 11, 0};
  const std::vector<uint8_t> w = opt::scatter_last_writers(index, 10);
  const std::vector<uint8_t> want = {0, 0, 0, 0, 1, 1, 1, 0, 1, 1};
  EXPECT_EQ(w, want);
  EXPECT_TRUE(opt::scatter_last_writers(index, 0).empty());
  // Many tokens on few rows (hash collisions and long probe chains).
  std::vector<int64_t> many(1000);
  for (size_t i = 0; i < many.size(); ++i) many[i] = static_cast<int64_t>((i * 37) % 64) << 20;
  const std::vector<uint8_t> wm = opt::scatter_last_writers(many.data(), 1000);
  for (size_t i = 0; i < many.size(); ++i) EXPECT_EQ(wm[i], i >= 1000 - 64 ? 1 : 0) << i;
}

TEST(ScatterProperties, LastWinsAnyThreadsTiles) {
  const KernelDecl& decl = kernel_or_throw("scatter");
  const Catalog& c = suite::catalog("scatter");
  int ran = 0;
  for (const auto& cs : select_cases(c, suite::env_tier(), "*duplicates*")) {
    const Bundle& b = suite::bundle_for(cs);
    for (Isa isa : {Isa::avx512, Isa::avx2}) {
      auto be = make_isa_backend(isa);
      if (!be->availability().runnable) continue;
      for (const auto& tile : c.tiles)
        for (int threads : {1, 2}) {
          const TensorMap t = suite::call(decl, b, *be, tile, threads);
          EXPECT_TRUE(t.at("cache").same_bytes(b.inout_after.at("cache")))
              << cs.id << " " << isa_name(isa) << " " << tile.name() << " threads " << threads;
          ++ran;
        }
    }
  }
  EXPECT_GT(ran, 0);
}

TEST(ScatterProperties, NzOffsets) {
  ScatterGeom g;
  g.block_num = 3;
  g.block_size = 16;
  g.D = 32;
  g.elem_size = 2;  // C0 = 16
  g.layout = CacheLayout::pa_nz;
  // (blk 1, slot 3, d 17): 1*16*32 + (17/16)*16*16 + 3*16 + 17%16 = 512 + 256 + 48 + 1.
  EXPECT_EQ(scatter_elem_offset(g, 1 * 16 + 3, 17), 817);
  EXPECT_EQ(scatter_elem_offset(g, 0, 0), 0);
  EXPECT_EQ(scatter_elem_offset(g, 15, 15), 15 * 16 + 15);
  g.elem_size = 1;  // int8: C0 = 32, one fractal row per slot at D = 32
  EXPECT_EQ(scatter_elem_offset(g, 2 * 16 + 5, 31), 2 * 16 * 32 + 5 * 32 + 31);
  g.layout = CacheLayout::pa_bsnd;
  EXPECT_EQ(scatter_elem_offset(g, 37, 4), 37 * 32 + 4);
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

TEST(ScatterProperties, GuardedRowCopies) {
  // The last cache row and the last src row end at a PROT_NONE page: an over-long tail copy
  // crashes; the row before the target must keep its bytes (no write before the row either).
  for (Isa isa : {Isa::avx512, Isa::avx2}) {
    if (!isa_missing(isa).empty()) continue;
    for (size_t es : {size_t{1}, size_t{2}, size_t{4}}) {
      for (int64_t D = 1; D <= 300; D += (D < 70 ? 1 : 37)) {
        opt::ScatterCall c;
        c.g.block_num = 1;
        c.g.block_size = 2;
        c.g.D = D;
        c.g.elem_size = es;
        const size_t rb = static_cast<size_t>(D) * es;
        GuardedBuffer cache(2 * rb), src(2 * rb);
        std::memset(cache.data(), 0xEE, 2 * rb);
        for (size_t i = 0; i < 2 * rb; ++i) src.data()[i] = static_cast<uint8_t>(i * 7 + 1);
        const int64_t index[2] = {-1, 1};  // token 1 (the last src row) -> row 1 (the last cache row)
        c.cache = cache.data();
        c.src = src.data();
        c.index = index;
        c.T = 2;
        opt::scatter_run(c, isa, 1, 0);
        for (size_t i = 0; i < rb; ++i) ASSERT_EQ(cache.data()[i], 0xEE) << isa_name(isa) << " D=" << D << " es=" << es;
        EXPECT_EQ(std::memcmp(cache.data() + rb, src.data() + rb, rb), 0) << isa_name(isa) << " D=" << D << " es=" << es;
      }
    }
  }
}

}  // namespace
}  // namespace kcs
