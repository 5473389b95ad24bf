// gemm_i8 adapter: work items of m_tile rows x n_tile columns (knobs) spread over OpenMP threads.
// Each item computes its outputs completely (all of K), so neither the tiling nor the thread
// count can change a bit; k_block only splits K into passes of exact integer sums.
//
// Weight path (a speed choice only; both give the same bits, see optimized/gemm_i8.h):
// M >= kGemmI8PackMinM packs W once per call (cost ~ one read + write of W, parallel over
// panels) and runs the packed engine; smaller M streams row-major W directly.
#include "optimized/gemm_i8.h"

#include <sys/mman.h>

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <string>

#include "kcs/backend.h"
#include "optimized/kernels.h"
#include "optimized/variants.h"

namespace kcs::opt {

int64_t packed_i8_panel_cols(Isa isa) { return variant(kGemmI8Variants, isa).panel_cols; }

size_t packed_i8_bytes(Isa isa, int64_t k, int64_t n) {
  const GemmI8Variant& v = variant(kGemmI8Variants, isa);
  const int64_t panels = (n + v.panel_cols - 1) / v.panel_cols;
  // avx512: ceil(k/4) quads x 256 bytes; avx2: ceil(k/2) pairs x 32 bytes.
  const int64_t groups = (k + v.k_group - 1) / v.k_group;
  return static_cast<size_t>(panels * groups * v.group_bytes);
}

void PackedI8Weights::Free::operator()(uint8_t* p) const { std::free(p); }

PackedI8View pack_i8_weights_into(Isa isa, const int8_t* w, int64_t ldw, int64_t k, int64_t n, int threads,
                                  uint8_t* out) {
  const int64_t cols = packed_i8_panel_cols(isa);
  const int64_t panels = (n + cols - 1) / cols;
  // 2048 columns of panels per work item (each panel is written by exactly one thread), so that
  // the packers read each weight row in 2 KiB runs.
  const int64_t per = 2048 / cols;
  const int64_t items = (panels + per - 1) / per;
  auto fn = variant(kGemmI8Variants, isa).pack;
#pragma omp parallel for num_threads(threads) schedule(static)
  for (int64_t t = 0; t < items; ++t) fn(w, ldw, k, n, t * per, std::min(panels, (t + 1) * per), out);
  PackedI8View v;
  v.data = out;
  v.k = k;
  v.n = n;
  v.isa = isa;
  return v;
}

namespace {

// 2 MiB aligned and advised to transparent huge pages (fewer first-touch faults and TLB misses).
uint8_t* alloc_packed(size_t bytes) {
  constexpr size_t kHuge = size_t{2} << 20;
  const size_t alloc = std::max<size_t>(kHuge, (bytes + kHuge - 1) / kHuge * kHuge);
  void* p = std::aligned_alloc(kHuge, alloc);
  if (!p) throw Error("gemm_i8: cannot allocate " + std::to_string(alloc) + " bytes of packed weights");
#ifdef MADV_HUGEPAGE
  madvise(p, alloc, MADV_HUGEPAGE);  // advice only
#endif
  return static_cast<uint8_t*>(p);
}

// The Invocation path's per-thread packing buffer, kept (and grown) across calls.
uint8_t* pack_buffer(size_t bytes) {
  struct Buffer {
    std::unique_ptr<uint8_t, decltype(&std::free)> p{nullptr, &std::free};
    size_t bytes = 0;
  };
  thread_local Buffer b;
  if (b.bytes < bytes) {
    b.p.reset();
    b.p.reset(alloc_packed(bytes));
    b.bytes = bytes;
  }
  return b.p.get();
}

}  // namespace

PackedI8Weights pack_i8_weights(Isa isa, const int8_t* w, int64_t ldw, int64_t k, int64_t n, int threads) {
  PackedI8Weights pw;
  pw.bytes_ = packed_i8_bytes(isa, k, n);
  pw.data_.reset(alloc_packed(pw.bytes_));
  pw.view_ = pack_i8_weights_into(isa, w, ldw, k, n, threads, pw.data_.get());
  return pw;
}

void gemm_i8_run(Isa isa, const GemmI8Args& g, const PackedI8View* packed, const GemmI8Tiling& t, int threads) {
  if (g.m <= 0 || g.n <= 0) return;
  if (packed && (packed->isa != isa || packed->k != g.k || packed->n != g.n))
    throw Error("gemm_i8: packed weights were packed for another ISA or shape");
  const int64_t mt = t.m_tile > 0 ? t.m_tile : g.m;
  const int64_t nt = t.n_tile > 0 ? t.n_tile : g.n;
  const int64_t m_items = (g.m + mt - 1) / mt, n_items = (g.n + nt - 1) / nt;
  const int64_t items = m_items * n_items;
  auto fn = variant(kGemmI8Variants, isa).gemm;
  // Column-major item order: consecutive items share a weight block, so with a static schedule
  // each thread streams its own contiguous share of W once.
#pragma omp parallel for num_threads(threads) schedule(static)
  for (int64_t it = 0; it < items; ++it) {
    const int64_t mi = it % m_items, ni = it / m_items;
    fn(g, packed, t.block, mi * mt, std::min(g.m, (mi + 1) * mt), ni * nt, std::min(g.n, (ni + 1) * nt));
  }
}

Status gemm_i8(const Invocation& inv, Isa isa) {
  const GemmI8Args g = gemm_i8_args(inv);
  if (g.m == 0) return Status::Ok();
  GemmI8Tiling t;
  t.m_tile = inv.knob("m_tile");
  t.n_tile = inv.knob("n_tile");
  t.block.k_block = inv.knob("k_block");
  if (g.m >= kGemmI8PackMinM) {
    uint8_t* buf = pack_buffer(packed_i8_bytes(isa, g.k, g.n));
    const PackedI8View pv = pack_i8_weights_into(isa, g.w, g.ldw, g.k, g.n, inv.threads, buf);
    gemm_i8_run(isa, g, &pv, t, inv.threads);
  } else {
    gemm_i8_run(isa, g, nullptr, t, inv.threads);
  }
  return Status::Ok();
}

}  // namespace kcs::opt
