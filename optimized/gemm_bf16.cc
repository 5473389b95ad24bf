// BF16 GEMM adapter: weight packing, the tile driver shared by both ISAs, work items over OpenMP
// threads, and the Invocation entry point. What the engines compute is defined in
// optimized/gemm_bf16.h.
//
// Tile driver (one work item: rows [m0, m1) x columns [n0, n1) of one batch matrix):
//   1. each row of A goes to the vdpbf16ps list or the FMA list (the exactness rule, per row);
//   2. K panels: k_block when it is set (each panel is then one summation block), else all of K
//      for tiles of up to 16 rows (decode: W streams once, front to back) and 256 otherwise;
//   3. column blocks of 12 strips (tiles over 16 rows: the fp32 partial sums, W panel and A
//      panel of a block stay in L2), per panel, per strip group (4 strips, or 1 for decode tiles
//      with short strips: one sequential W stream), per group of up to 6 rows: one micro-kernel
//      call; partial sums live in a fp32 scratch tile between panels, and the last panel's call
//      rounds straight into y (columns [n0, n1) only).
// Whatever the tile or grouping, each output element sees the same instructions in the same
// order, so m_tile / n_tile / threads never change a bit.
#include "optimized/gemm_bf16.h"

#include <sys/mman.h>

#include <algorithm>
#include <cstdlib>
#include <vector>

#include "optimized/kernels.h"
#include "optimized/variants.h"

namespace kcs::opt {

void PackedBf16Weights::Free::operator()(void* p) const { std::free(p); }

namespace {

// min_mag on the best ISA this CPU runs (packing itself is ISA-independent).
uint32_t min_mag_best(const uint16_t* x, int64_t n) {
  static const bool avx512 = isa_missing(Isa::avx512).empty(), avx2 = isa_missing(Isa::avx2).empty();
  if (avx512) return gemm_bf16_min_mag_avx512(x, n);
  if (avx2) return gemm_bf16_min_mag_avx2(x, n);
  uint32_t mn = kBf16AllZeroMag;
  for (int64_t j = 0; j < n; ++j) {
    const uint32_t m = x[j] & 0x7FFFu;
    if (m != 0 && m < mn) mn = m;
  }
  return mn;
}

// Strip s, pair p: rows r0 = w[2p] and r1 = w[2p + 1] (null past K), n columns; whole strips
// without branches (the compiler vectorises them), the last one zero padded.
inline void pack_line(const uint16_t* r0, const uint16_t* r1, int64_t n, int64_t s, uint32_t* o) {
  const int64_t c0 = s * kBf16StripCols;
  if (c0 + kBf16StripCols <= n) {
    if (r1) {
      for (int64_t j = 0; j < kBf16StripCols; ++j) o[j] = uint32_t{r0[c0 + j]} | uint32_t{r1[c0 + j]} << 16;
    } else {
      for (int64_t j = 0; j < kBf16StripCols; ++j) o[j] = r0[c0 + j];
    }
    return;
  }
  for (int64_t j = 0; j < kBf16StripCols; ++j) {
    const int64_t col = c0 + j;
    o[j] = col < n ? (uint32_t{r0[col]} | (r1 ? uint32_t{r1[col]} << 16 : 0u)) : 0u;
  }
}

// Pairs per packing work item: its 128 rows of W stay in L2 while each strip's 4 KiB of output
// is written in order (pair by pair across all strips would touch a new page per line).
constexpr int64_t kPackPairs = 64;

}  // namespace

void pack_bf16_weights_into(PackedBf16Weights& out, const uint16_t* w, int64_t batch, int64_t k, int64_t n,
                            int64_t ldw, int64_t w_batch_stride, int threads) {
  PackedBf16View& v = out.view_;
  v.batch = batch;
  v.k = k;
  v.n = n;
  v.kpairs = (k + 1) / 2;
  v.strips = (n + kBf16StripCols - 1) / kBf16StripCols;
  v.strip_stride = v.kpairs * kBf16StripCols;
  v.batch_stride = v.strips * v.strip_stride;
  out.bytes_ = static_cast<size_t>(batch * v.batch_stride) * sizeof(uint32_t);
  if (out.bytes_ > out.capacity_ || !out.data_) {
    // Large packs on 2 MiB pages (as bench/limits.h's read probe): streaming W through 4 KiB
    // pages costs a large share of single-core bandwidth on the project's VM.
    const size_t align = out.bytes_ >= (size_t{1} << 21) ? (size_t{1} << 21) : 64;
    const size_t alloc = std::max<size_t>((out.bytes_ + align - 1) / align * align, align);
    out.data_.reset(static_cast<uint32_t*>(std::aligned_alloc(align, alloc)));
    if (!out.data_) throw Error("pack_bf16_weights: out of memory for " + std::to_string(alloc) + " bytes");
#ifdef MADV_HUGEPAGE
    if (align > 64) madvise(out.data_.get(), alloc, MADV_HUGEPAGE);  // advice only
#endif
    out.capacity_ = alloc;
  }
  if (out.min_mag_size_ < batch) {
    out.min_mag_.reset(new uint32_t[static_cast<size_t>(batch)]);
    out.min_mag_size_ = batch;
  }
  uint32_t* dst = out.data_.get();
  const int64_t chunks = (v.kpairs + kPackPairs - 1) / kPackPairs;
  const int64_t items = batch * chunks;
  std::vector<uint32_t> item_min(static_cast<size_t>(items), kBf16AllZeroMag);
#pragma omp parallel for num_threads(std::max(threads, 1)) schedule(static) if (threads > 1 && items > 1)
  for (int64_t it = 0; it < items; ++it) {
    const int64_t b = it / chunks, p0 = (it % chunks) * kPackPairs, p1 = std::min(p0 + kPackPairs, v.kpairs);
    const uint16_t* wb = w + b * w_batch_stride;
    uint32_t* ob = dst + b * v.batch_stride;
    for (int64_t st = 0; st < v.strips; ++st)
      for (int64_t p = p0; p < p1; ++p)
        pack_line(wb + 2 * p * ldw, 2 * p + 1 < k ? wb + (2 * p + 1) * ldw : nullptr, n, st,
                  ob + st * v.strip_stride + p * kBf16StripCols);
    uint32_t mn = kBf16AllZeroMag;
    for (int64_t r = 2 * p0; r < std::min(2 * p1, k); ++r) mn = std::min(mn, min_mag_best(wb + r * ldw, n));
    item_min[static_cast<size_t>(it)] = mn;
  }
  for (int64_t b = 0; b < batch; ++b) {
    uint32_t mn = kBf16AllZeroMag;
    for (int64_t c = 0; c < chunks; ++c) mn = std::min(mn, item_min[static_cast<size_t>(b * chunks + c)]);
    out.min_mag_[static_cast<size_t>(b)] = mn;
  }
  v.data = dst;
  v.min_mag = out.min_mag_.get();
}

PackedBf16Weights pack_bf16_weights(const uint16_t* w, int64_t batch, int64_t k, int64_t n, int64_t ldw,
                                    int64_t w_batch_stride, int threads) {
  PackedBf16Weights out;
  pack_bf16_weights_into(out, w, batch, k, n, ldw, w_batch_stride, threads);
  return out;
}

namespace {

// Per-thread scratch of the tile driver, grown on demand and kept between calls.
struct TileScratch {
  std::vector<float> c, af;
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
  return variant(kGemmBf16Variants, isa).min_mag(x, n);
}

int64_t even_up(int64_t v) { return (v + 1) & ~int64_t{1}; }

// Prefill tiles take the wide FMA kernel where vdpbf16ps is slow (timed once per process; either
// kernel gives the same bits, so the timing only picks the speed).
bool wide_fma_pays() {
  static const bool slow = gemm_bf16_dot_slow_avx512();
  return slow;
}

// K panel of tiles with more than 16 rows, and strips per column block (192 columns): for 128
// rows, fp32 partial sums 96 KiB + W panel 96 KiB + A panel 64 KiB in L2; the W panel of one
// strip group (32 KiB) near L1 while every row group passes over it.
constexpr int64_t kPanelK = 256;
constexpr int64_t kColBlockStrips = 12;

// Everything one tile's micro-kernel calls share.
struct TileCtx {
  Isa isa;
  const uint16_t* a;  // this batch's A
  int64_t lda;
  const uint32_t* w;  // this batch's packed W
  int64_t strip_stride;
  float* c;  // fp32 tile, row i at c + (i - m0) * ldc, strip s at column (s - s0) * 16
  int64_t ldc, m0, s0;
  char* y;  // this batch's y, row i (column 0) at y + i * ldy_bytes
  int64_t ldy_bytes;
  DType y_dtype;
  int64_t n0, n1;  // the tile's columns
  bool stream_w;    // decode-sized tile: W is read once per panel, from DRAM
  const float* af = nullptr;  // wide FMA: the rows' widened panel, row i at af + (i - m0) * 2 * af_even
  int64_t af_even = 0;
};

enum class Micro : uint8_t { dot, fma, wide };

// One K panel [k0, k0 + kc) x strips [st0, st1) for the rows of `rows` (one path), in micro-tiles;
// the last panel rounds into y.
void run_rows(const TileCtx& t, const std::vector<int64_t>& rows, Micro path, int64_t k0, int64_t kc, Bf16Mode mode,
              bool last, int64_t st0, int64_t st1) {
  const bool dot = path == Micro::dot, wide = path == Micro::wide;
  const int max_mr = dot ? kBf16DotMaxMr
                     : wide ? kBf16WideMaxMr
                            : (vector_isa(t.isa) == Isa::avx512 ? kBf16FmaMaxMr512 : kBf16FmaMaxMr256);
  const int max_ns = dot ? kBf16DotMaxNs
                     : wide ? kBf16WideMaxNs
                            : (vector_isa(t.isa) == Isa::avx512 ? kBf16FmaMaxNs512 : kBf16FmaMaxNs256);
  constexpr int kMaxMr = std::max({kBf16DotMaxMr, kBf16FmaMaxMr512, kBf16FmaMaxMr256, kBf16WideMaxMr});
  const uint16_t* ap[kMaxMr];
  const float* afp[kMaxMr];
  float* cp[kMaxMr];
  char* yp[kMaxMr];
  Bf16Micro mk;
  mk.a = ap;
  mk.af = afp;
  mk.af_even = t.af_even;
  mk.c = cp;
  mk.kc = kc;
  mk.mode = mode;
  mk.w_strip_stride = t.strip_stride;
  mk.out = last ? yp : nullptr;
  mk.out_dtype = t.y_dtype;
  mk.lo = t.n0;
  mk.hi = t.n1;
  const bool uses_c = !last || mode != Bf16Mode::set;
  for (int64_t st = st0; st < st1; st += max_ns) {
    const int ns = static_cast<int>(std::min<int64_t>(max_ns, st1 - st));
    mk.w = t.w + st * t.strip_stride + (k0 / 2) * kBf16StripCols;
    mk.col0 = st * kBf16StripCols;
    // Balanced row groups (128 rows: 18 x 6 + 4 x 5, not 21 x 6 + 1 x 2): a small last group
    // would run a micro-tile with few accumulators.
    const size_t n = rows.size(), groups = (n + static_cast<size_t>(max_mr) - 1) / static_cast<size_t>(max_mr);
    for (size_t g = 0, r0 = 0; g < groups; ++g) {
      const int mr = static_cast<int>(n / groups + (g < n % groups ? 1 : 0));
      for (int r = 0; r < mr; ++r) {
        const int64_t i = rows[r0 + static_cast<size_t>(r)];
        ap[r] = t.a + i * t.lda + k0;
        afp[r] = wide ? t.af + (i - t.m0) * 2 * t.af_even : nullptr;
        cp[r] = uses_c ? t.c + (i - t.m0) * t.ldc + (st - t.s0) * kBf16StripCols : nullptr;
        yp[r] = t.y + i * t.ldy_bytes;
      }
      // Decode-sized tiles read each W line from DRAM in their first row group, once.
      mk.prefetch = t.stream_w && g == 0;
      if (wide)
        gemm_bf16_micro_wide_avx512(mr, ns, mk);
      else if (vector_isa(t.isa) == Isa::avx512)
        gemm_bf16_micro_avx512(dot, mr, ns, mk);
      else
        gemm_bf16_micro_avx2(mr, ns, mk);
      r0 += static_cast<size_t>(mr);
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
  const int64_t esize = g.y_dtype == DType::fp32 ? 4 : 2;
  TileCtx t{isa,
            g.a + b * g.a_batch_stride,
            g.lda,
            w.data + b * w.batch_stride,
            w.strip_stride,
            nullptr,
            (s1 - s0) * kBf16StripCols,
            m0,
            s0,
            static_cast<char*>(g.y) + b * g.y_batch_stride * esize,
            g.ldy * esize,
            g.y_dtype,
            n0,
            n1,
            rows <= 16};

  // 1. Rows to the vdpbf16ps list where it is exact (AVX-512), else to the FMA list. Prefill
  // tiles where vdpbf16ps is slow (or the FMA path is forced) take all rows to the wide kernel.
  s.dot_rows.clear();
  s.fma_rows.clear();
  const uint32_t w_mag = w.min_mag[b];
  const bool wide = vector_isa(isa) == Isa::avx512 && rows > 16 &&
                    (g.path == Bf16Path::fma || (g.path == Bf16Path::automatic && wide_fma_pays()));
  for (int64_t i = m0; i < m1; ++i) {
    bool dot = false;
    if (vector_isa(isa) == Isa::avx512 && !wide) {
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
  // The fp32 tile holds partial sums between panels; one panel rounds straight into y.
  if (kc_max < g.k) t.c = s.c_aligned(static_cast<size_t>(rows * t.ldc));
  // Decode tiles with short strips (K2's w_uk: 4 KiB per strip) read W one strip at a time: a
  // single sequential stream is what DRAM and the prefetchers serve best there (interleaved short
  // streams ran at 60% of the read bandwidth). Long strips stream well four at a time, and the
  // four independent accumulator chains keep a decode row from waiting on vdpbf16ps latency.
  const bool one_stream = rows <= 4 && kc_max < 512;
  const int64_t strip_group = wide ? kBf16WideMaxNs : (vector_isa(isa) == Isa::avx512 && !one_stream) ? kBf16DotMaxNs : 1;
  if (wide) {
    t.af_even = (kc_max / 2 + 1 + 15) / 16 * 16;  // pairs of the longest panel, half pair included
    if (s.af.size() < static_cast<size_t>(rows * 2 * t.af_even)) s.af.resize(static_cast<size_t>(rows * 2 * t.af_even));
    t.af = s.af.data();
  }
  const int64_t block_strips = rows <= 16 ? s1 - s0 : kColBlockStrips;
  for (int64_t cb = s0; cb < s1; cb += block_strips) {
    const int64_t cb_end = std::min(cb + block_strips, s1);
    for (int64_t k0 = 0; k0 < g.k; k0 += kc_max) {
      const int64_t kc = std::min(kc_max, g.k - k0);
      const Bf16Mode mode = k0 == 0 ? Bf16Mode::set : (kb > 0 ? Bf16Mode::add : Bf16Mode::chain);
      if (wide)
        for (int64_t i = m0; i < m1; ++i) {
          float* o = s.af.data() + (i - m0) * 2 * t.af_even;
          gemm_bf16_widen_avx512(t.a + i * t.lda + k0, kc, o, o + t.af_even);
        }
      for (int64_t sg = cb; sg < cb_end; sg += strip_group) {
        const int64_t sg_end = std::min(sg + strip_group, cb_end);
        run_rows(t, s.dot_rows, Micro::dot, k0, kc, mode, k0 + kc >= g.k, sg, sg_end);
        run_rows(t, s.fma_rows, wide ? Micro::wide : Micro::fma, k0, kc, mode, k0 + kc >= g.k, sg, sg_end);
      }
    }
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
  const int64_t mt = t.m_tile > 0 ? t.m_tile : g.m, nt = t.n_tile > 0 ? t.n_tile : g.n;
  const int64_t m_items = (g.m + mt - 1) / mt, n_items = (g.n + nt - 1) / nt;
  const int64_t items = g.batch * m_items * n_items;
  // One parallel region per call (decode calls are a few microseconds); the tiles find each
  // row's min_mag themselves, which repeats a cheap scan only when N is split.
#pragma omp parallel for num_threads(threads) schedule(static) if (threads > 1 && items > 1)
  for (int64_t it = 0; it < items; ++it) {
    const int64_t b = it / (m_items * n_items), r = it % (m_items * n_items);
    const int64_t i0 = (r / n_items) * mt, j0 = (r % n_items) * nt;
    gemm_bf16_tile(isa, g, w, b, i0, std::min(g.m, i0 + mt), j0, std::min(g.n, j0 + nt));
  }
}

// The Invocation path: W is packed per call (fused kernels pack once and reuse it).
Status gemm_bf16(const Invocation& inv, Isa isa) {
  const Tensor& a = inv.in("a");
  const Tensor& w = inv.in("w");
  Tensor& y = inv.out("y");
  const int64_t B = inv.dim("B"), M = inv.dim("M"), K = inv.dim("K"), N = inv.dim("N");
  if (B * M == 0) return Status::Ok();
  // The pack's memory is kept per thread between calls: fresh pages would cost more than packing.
  thread_local PackedBf16Weights packed;
  pack_bf16_weights_into(packed, w.data<uint16_t>(), B, K, N, N, K * N, inv.threads);
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
