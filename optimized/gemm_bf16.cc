// BF16 GEMM adapter: weight packing, the tile driver shared by both ISAs, work items over OpenMP
// threads, and the Invocation entry point. What the engines compute is defined in
// optimized/gemm_bf16.h.
//
// Tile driver (one work item: rows [m0, m1) x columns [n0, n1) of one batch matrix):
//   1. each row of A goes to the vdpbf16ps list or the FMA list (the exactness rule, per row);
//   2. K panels: k_block when it is set (each panel is then one summation block), else all of K
//      for tiles of up to 16 rows (decode: W streams once, front to back) and 256 otherwise
//      (the W panel of a strip group stays in L1 while every row group passes over it);
//   3. per panel, per group of up to 3 strips, per group of up to 8 rows: one micro-kernel
//      call, accumulators in a fp32 scratch tile that later panels reload (chain) or add to;
//   4. the scratch tile is rounded into y, columns [n0, n1) only.
// Whatever the tile or grouping, each output element sees the same instructions in the same
// order, so m_tile / n_tile / threads never change a bit.
#include "optimized/gemm_bf16.h"

#include <sys/mman.h>

#include <algorithm>
#include <cstdlib>
#include <vector>

#include "optimized/kernels.h"

namespace kcs::opt {

void PackedBf16Weights::Free::operator()(void* p) const { std::free(p); }

PackedBf16Weights pack_bf16_weights(const uint16_t* w, int64_t batch, int64_t k, int64_t n, int64_t ldw,
                                    int64_t w_batch_stride, int threads) {
  PackedBf16Weights out;
  PackedBf16View& v = out.view_;
  v.batch = batch;
  v.k = k;
  v.n = n;
  v.kpairs = (k + 1) / 2;
  v.strips = (n + kBf16StripCols - 1) / kBf16StripCols;
  v.strip_stride = v.kpairs * kBf16StripCols;
  v.batch_stride = v.strips * v.strip_stride;
  out.bytes_ = static_cast<size_t>(batch * v.batch_stride) * sizeof(uint32_t);
  // Large packs on 2 MiB pages (as bench/limits.h's read probe): streaming W through 4 KiB pages
  // costs a large share of single-core bandwidth on the project's VM.
  const size_t align = out.bytes_ >= (size_t{1} << 21) ? (size_t{1} << 21) : 64;
  const size_t alloc = std::max<size_t>((out.bytes_ + align - 1) / align * align, align);
  out.data_.reset(static_cast<uint32_t*>(std::aligned_alloc(align, alloc)));
#ifdef MADV_HUGEPAGE
  if (out.data_ && align > 64) madvise(out.data_.get(), alloc, MADV_HUGEPAGE);  // advice only
#endif
  if (!out.data_) throw Error("pack_bf16_weights: out of memory for " + std::to_string(alloc) + " bytes");
  out.min_mag_.reset(new uint32_t[static_cast<size_t>(std::max<int64_t>(batch, 1))]);
  uint32_t* dst = out.data_.get();
  // Pair rows (2p, 2p+1) are read whole and scattered to every strip: reads stream, and each
  // strip's 16 dwords are one full cache line.
  const int64_t items = batch * v.kpairs;
  std::vector<uint32_t> item_min(static_cast<size_t>(items), kBf16AllZeroMag);
#pragma omp parallel for num_threads(std::max(threads, 1)) schedule(static)
  for (int64_t it = 0; it < items; ++it) {
    const int64_t b = it / v.kpairs, p = it % v.kpairs;
    const uint16_t* r0 = w + b * w_batch_stride + 2 * p * ldw;
    const uint16_t* r1 = 2 * p + 1 < k ? r0 + ldw : nullptr;
    uint32_t* base = dst + b * v.batch_stride + p * kBf16StripCols;
    uint32_t mn = kBf16AllZeroMag;
    for (int64_t s = 0; s < v.strips; ++s) {
      uint32_t* o = base + s * v.strip_stride;
      const int64_t c0 = s * kBf16StripCols;
      for (int64_t j = 0; j < kBf16StripCols; ++j) {
        const int64_t col = c0 + j;
        const uint32_t lo = col < n ? r0[col] : 0u;
        const uint32_t hi = (col < n && r1) ? r1[col] : 0u;
        o[j] = lo | hi << 16;
        const uint32_t ml = lo & 0x7FFFu, mh = hi & 0x7FFFu;
        if (ml != 0 && ml < mn) mn = ml;
        if (mh != 0 && mh < mn) mn = mh;
      }
    }
    item_min[static_cast<size_t>(it)] = mn;
  }
  for (int64_t b = 0; b < batch; ++b) {
    uint32_t mn = kBf16AllZeroMag;
    for (int64_t p = 0; p < v.kpairs; ++p) mn = std::min(mn, item_min[static_cast<size_t>(b * v.kpairs + p)]);
    out.min_mag_[static_cast<size_t>(b)] = mn;
  }
  v.data = dst;
  v.min_mag = out.min_mag_.get();
  return out;
}

namespace {

// Per-thread scratch of the tile driver, grown on demand and kept between calls.
struct TileScratch {
  std::vector<float> c;
  std::vector<int64_t> dot_rows, fma_rows;
  float* c_aligned(size_t floats) {
    if (c.size() < floats + 16) c.resize(floats + 16);
    const uintptr_t p = reinterpret_cast<uintptr_t>(c.data());
    return reinterpret_cast<float*>((p + 63) & ~uintptr_t{63});
  }
};

TileScratch& scratch() {
  thread_local TileScratch s;
  return s;
}

uint32_t min_mag(Isa isa, const uint16_t* x, int64_t n) {
  return isa == Isa::avx512 ? gemm_bf16_min_mag_avx512(x, n) : gemm_bf16_min_mag_avx2(x, n);
}

int64_t even_up(int64_t v) { return (v + 1) & ~int64_t{1}; }

// K panel of tiles with more than 16 rows, and strips per column block (192 columns): for 128
// rows, fp32 tile 96 KiB + W panel 96 KiB + A panel 64 KiB in L2; the W panel of one strip
// group (24 KiB) in L1 while every row group passes over it.
constexpr int64_t kPanelK = 256;
constexpr int64_t kColBlockStrips = 12;

}  // namespace

namespace {

// Everything one tile's micro-kernel calls share.
struct TileCtx {
  Isa isa;
  const uint16_t* a;  // this batch's A
  int64_t lda;
  const uint32_t* w;  // this batch's packed W
  int64_t strip_stride;
  float* c;  // fp32 tile, row i at c + (i - m0) * ldc, strip s at column (s - s0) * 16
  int64_t ldc, m0, s0;
};

// One K panel [k0, k0 + kc) x strips [st0, st1) for the rows of `rows` (one path), in micro-tiles.
void run_rows(const TileCtx& t, const std::vector<int64_t>& rows, bool dot, int64_t k0, int64_t kc, Bf16Mode mode,
              int64_t st0, int64_t st1) {
  const int max_mr = dot ? kBf16DotMaxMr : (t.isa == Isa::avx512 ? kBf16FmaMaxMr512 : kBf16FmaMaxMr256);
  const int max_ns = dot ? kBf16DotMaxNs : (t.isa == Isa::avx512 ? kBf16FmaMaxNs512 : kBf16FmaMaxNs256);
  const uint16_t* ap[kBf16DotMaxMr];
  float* cp[kBf16DotMaxMr];
  Bf16Micro mk;
  mk.a = ap;
  mk.c = cp;
  mk.kc = kc;
  mk.mode = mode;
  mk.w_strip_stride = t.strip_stride;
  for (int64_t st = st0; st < st1; st += max_ns) {
    const int ns = static_cast<int>(std::min<int64_t>(max_ns, st1 - st));
    mk.w = t.w + st * t.strip_stride + (k0 / 2) * kBf16StripCols;
    for (size_t r0 = 0; r0 < rows.size(); r0 += static_cast<size_t>(max_mr)) {
      const int mr = static_cast<int>(std::min<size_t>(static_cast<size_t>(max_mr), rows.size() - r0));
      for (int r = 0; r < mr; ++r) {
        const int64_t i = rows[r0 + static_cast<size_t>(r)];
        ap[r] = t.a + i * t.lda + k0;
        cp[r] = t.c + (i - t.m0) * t.ldc + (st - t.s0) * kBf16StripCols;
      }
      if (t.isa == Isa::avx512)
        gemm_bf16_micro_avx512(dot, mr, ns, mk);
      else
        gemm_bf16_micro_avx2(mr, ns, mk);
    }
  }
}

}  // namespace

void gemm_bf16_tile(Isa isa, const GemmBf16Args& g, const PackedBf16View& w, int64_t b, int64_t m0, int64_t m1,
                    int64_t n0, int64_t n1) {
  if (m1 <= m0 || n1 <= n0) return;
  TileScratch& s = scratch();
  const int64_t rows = m1 - m0;
  const int64_t s0 = n0 / kBf16StripCols, s1 = (n1 + kBf16StripCols - 1) / kBf16StripCols;
  TileCtx t{isa, g.a + b * g.a_batch_stride, g.lda, w.data + b * w.batch_stride, w.strip_stride, nullptr,
            (s1 - s0) * kBf16StripCols, m0, s0};
  t.c = s.c_aligned(static_cast<size_t>(rows * t.ldc));

  // 1. Rows to the vdpbf16ps list where it is exact (AVX-512), else to the FMA list.
  s.dot_rows.clear();
  s.fma_rows.clear();
  const uint32_t w_mag = w.min_mag[b];
  for (int64_t i = m0; i < m1; ++i) {
    bool dot = false;
    if (isa == Isa::avx512) {
      if (g.path == Bf16Path::dot) {
        dot = true;
      } else if (g.path == Bf16Path::automatic) {
        const uint32_t mag = g.row_min_mag ? g.row_min_mag[b * g.m + i] : min_mag(isa, t.a + i * g.lda, g.k);
        dot = bf16_dot_exact(mag, w_mag);
      }
    }
    (dot ? s.dot_rows : s.fma_rows).push_back(i);
  }

  // 2.-3. Column blocks (which keep the fp32 tile, the W panel and the A panel of one block in
  // L2 together), K panels, strip groups, row groups.
  const int64_t kb = g.k_block > 0 ? even_up(g.k_block) : 0;
  const int64_t kc_max = kb > 0 ? kb : (rows <= 16 ? even_up(g.k) : kPanelK);
  // Decode tiles with short strips (K2's w_uk: 4 KiB per strip) read W one strip at a time: a
  // single sequential stream is what DRAM and the prefetchers serve best there (three
  // interleaved short streams ran at 60% of the read bandwidth); long strips stream well three
  // at a time, and three strips give rows > 1 more independent chains.
  const bool one_stream = rows == 1 || (rows <= 4 && kc_max < 512);
  const int64_t strip_group = (isa == Isa::avx512 && !one_stream) ? kBf16DotMaxNs : 1;
  const int64_t block_strips = rows <= 16 ? s1 - s0 : kColBlockStrips;
  for (int64_t cb = s0; cb < s1; cb += block_strips) {
    const int64_t cb_end = std::min(cb + block_strips, s1);
    for (int64_t k0 = 0; k0 < g.k; k0 += kc_max) {
      const int64_t kc = std::min(kc_max, g.k - k0);
      const Bf16Mode mode = k0 == 0 ? Bf16Mode::set : (kb > 0 ? Bf16Mode::add : Bf16Mode::chain);
      for (int64_t sg = cb; sg < cb_end; sg += strip_group) {
        const int64_t sg_end = std::min(sg + strip_group, cb_end);
        run_rows(t, s.dot_rows, true, k0, kc, mode, sg, sg_end);
        run_rows(t, s.fma_rows, false, k0, kc, mode, sg, sg_end);
      }
    }
  }

  // 4. Round into y.
  const size_t esize = g.y_dtype == DType::fp32 ? 4 : 2;
  char* y = static_cast<char*>(g.y) + static_cast<size_t>(b * g.y_batch_stride) * esize;
  for (int64_t i = m0; i < m1; ++i) {
    const float* crow = t.c + (i - m0) * t.ldc + (n0 - s0 * kBf16StripCols);
    void* yrow = y + static_cast<size_t>(i * g.ldy + n0) * esize;
    if (isa == Isa::avx512)
      gemm_bf16_store_row_avx512(crow, n1 - n0, g.y_dtype, yrow);
    else
      gemm_bf16_store_row_avx2(crow, n1 - n0, g.y_dtype, yrow);
  }
}

GemmBf16Tiling gemm_bf16_auto_tiling(int64_t batch, int64_t m, int64_t n, int threads) {
  GemmBf16Tiling t;
  t.m_tile = 128;
  t.n_tile = 0;
  const int64_t items = batch * std::max<int64_t>((m + t.m_tile - 1) / t.m_tile, 1);
  const int64_t want = 2 * std::max(threads, 1);
  if (threads > 1 && items < want) {
    // Split N into whole strips so that there are about `want` items.
    const int64_t strips = (n + kBf16StripCols - 1) / kBf16StripCols;
    const int64_t parts = std::min<int64_t>(strips, (want + items - 1) / items);
    t.n_tile = (strips + parts - 1) / parts * kBf16StripCols;
  }
  return t;
}

void gemm_bf16_run(Isa isa, const GemmBf16Args& g, const PackedBf16View& w, const GemmBf16Tiling& t, int threads) {
  if (g.batch <= 0 || g.m <= 0 || g.n <= 0) return;
  threads = std::max(threads, 1);
  GemmBf16Args args = g;
  std::vector<uint32_t> mags;
  if (isa == Isa::avx512 && g.path == Bf16Path::automatic && !g.row_min_mag) {
    // Once per row here rather than once per row and n tile in the tiles.
    mags.resize(static_cast<size_t>(g.batch * g.m));
#pragma omp parallel for num_threads(threads) schedule(static)
    for (int64_t r = 0; r < g.batch * g.m; ++r)
      mags[static_cast<size_t>(r)] = gemm_bf16_min_mag_avx512(g.a + (r / g.m) * g.a_batch_stride + (r % g.m) * g.lda, g.k);
    args.row_min_mag = mags.data();
  }
  const int64_t mt = t.m_tile > 0 ? t.m_tile : g.m, nt = t.n_tile > 0 ? t.n_tile : g.n;
  const int64_t m_items = (g.m + mt - 1) / mt, n_items = (g.n + nt - 1) / nt;
  const int64_t items = g.batch * m_items * n_items;
#pragma omp parallel for num_threads(threads) schedule(static)
  for (int64_t it = 0; it < items; ++it) {
    const int64_t b = it / (m_items * n_items), r = it % (m_items * n_items);
    const int64_t i0 = (r / n_items) * mt, j0 = (r % n_items) * nt;
    gemm_bf16_tile(isa, args, w, b, i0, std::min(g.m, i0 + mt), j0, std::min(g.n, j0 + nt));
  }
}

// The Invocation path: W is packed per call (fused kernels pack once and reuse it).
Status gemm_bf16(const Invocation& inv, Isa isa) {
  const Tensor& a = inv.in("a");
  const Tensor& w = inv.in("w");
  Tensor& y = inv.out("y");
  const int64_t B = inv.dim("B"), M = inv.dim("M"), K = inv.dim("K"), N = inv.dim("N");
  if (B * M == 0) return Status::Ok();
  const PackedBf16Weights packed = pack_bf16_weights(w.data<uint16_t>(), B, K, N, N, K * N, inv.threads);
  GemmBf16Args g;
  g.batch = B;
  g.m = M;
  g.k = K;
  g.n = N;
  g.a = a.data<uint16_t>();
  g.lda = K;
  g.a_batch_stride = M * K;
  g.y = y.raw();
  g.ldy = N;
  g.y_batch_stride = M * N;
  g.y_dtype = y.dtype();
  g.k_block = inv.knob("k_block");
  GemmBf16Tiling t = gemm_bf16_auto_tiling(B, M, N, inv.threads);
  if (const int64_t v = inv.knob("m_tile"); v >= 0) t.m_tile = v;
  if (const int64_t v = inv.knob("n_tile"); v >= 0) t.n_tile = v;
  gemm_bf16_run(isa, g, packed.view(), t, inv.threads);
  return Status::Ok();
}

}  // namespace kcs::opt
