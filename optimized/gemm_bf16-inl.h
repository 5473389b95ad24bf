// BF16 GEMM, the ISA-neutral part of optimized/avx512/gemm_bf16.cc and optimized/avx2/gemm_bf16.cc:
// the FMA micro-kernel, the micro-tile epilogue, gemm_bf16_store_row_<isa> and
// gemm_bf16_min_mag_<isa>. What they compute
// is defined in optimized/gemm_bf16.h: per output element one binary32 chain of fused
// multiply-adds over K pairs, odd element first (the SDM definition of vdpbf16ps), so both ISAs
// give the same bits. BF16 is widened with integer ops: the high half of a packed dword, with its
// low 16 bits cleared, is the odd element as an fp32; the low half shifted left by 16 is the even
// one. IEEE subnormals kept (MXCSR is never touched). Output rounding: BF16 with integers
// (nearest even, subnormals kept, NaN quietened), never vcvtneps2bf16, which flushes subnormals
// (spec §13); FP16 with vcvtps2ph, nearest even.
#pragma once

#include <cstdint>

#include "optimized/gemm_bf16.h"

namespace kcs::opt {

namespace {

constexpr int kSv = static_cast<int>(16 / kLanes);  // vectors per 16-column strip

// Lanes [b, e) of v, whose lane 0 is column col, rounded to dt into row.
inline void put(VF v, DType dt, char* row, int64_t col, int64_t b, int64_t e) {
  if (dt == DType::fp32)
    storer_f32(reinterpret_cast<float*>(row) + col, v, b, e);
  else
    storer_u16(reinterpret_cast<uint16_t*>(row) + col, dt == DType::bf16 ? to_bf16_quiet(v) : to_fp16(v), b, e);
}

// A micro-tile's results: to C, or (the last panel) into y, the tile's columns [lo, hi) only.
// Always inlined: out of line (it is when two kernels of one shape call it), the accumulators
// go through memory, which costs decode-sized calls ~10%.
template <int MR, int NV>
inline __attribute__((always_inline)) void finish(const Bf16Micro& m, VF (&acc)[MR][NV]) {
#pragma GCC unroll 12
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 4
    for (int i = 0; i < NV; ++i) {
      VF v = acc[r][i];
      if (m.mode == Bf16Mode::add) v = add_f(loadv_f32(m.c[r] + kLanes * i), v);
      const int64_t col = m.col0 + kLanes * i;
      if (m.out)
        put(v, m.out_dtype, m.out[r], col, m.lo - col, m.hi - col);
      else
        storev_f32(m.c[r] + kLanes * i, v);
    }
}

// Pair p of row r as a dword (even element low), or the half pair of an odd panel.
inline uint32_t a_pair(const uint16_t* row, int64_t p) { return load_u32(row + 2 * p); }
inline uint32_t a_half(const uint16_t* row, int64_t p) { return row[2 * p]; }

// The accumulators' start: C (chain) or +0.
template <int MR, int NV>
inline __attribute__((always_inline)) void start(const Bf16Micro& m, VF (&acc)[MR][NV]) {
#pragma GCC unroll 12
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 4
    for (int i = 0; i < NV; ++i) acc[r][i] = m.mode == Bf16Mode::chain ? loadv_f32(m.c[r] + kLanes * i) : zero_f();
}

// Pairs [p0, p1) of the FMA chain: W's pair widened once for all rows, then per row its odd
// element's FMAs before its even one's, as vdpbf16ps does; bcast(r, p, odd, even) gives row r's
// pair p as two binary32 broadcasts.
template <int MR, int NS, class Bcast>
inline __attribute__((always_inline)) void fma_pairs(const Bf16Micro& m, int64_t p0, int64_t p1,
                                                     VF (&acc)[MR][NS * kSv], Bcast bcast) {
  constexpr int NV = NS * kSv;
  VF wo[NV], we[NV];
  for (int64_t p = p0; p < p1; ++p) {
#pragma GCC unroll 4
    for (int i = 0; i < NV; ++i) {
      const VI d = loadv_u32(m.w + (i / kSv) * m.w_strip_stride + p * 16 + kLanes * (i % kSv));
      wo[i] = widen_hi(d);
      we[i] = widen_lo(d);
    }
#pragma GCC unroll 12
    for (int r = 0; r < MR; ++r) {
      VF ao, ae;
      bcast(r, p, ao, ae);
#pragma GCC unroll 4
      for (int j = 0; j < NV; ++j) acc[r][j] = fmadd_f(ao, wo[j], acc[r][j]);
#pragma GCC unroll 4
      for (int j = 0; j < NV; ++j) acc[r][j] = fmadd_f(ae, we[j], acc[r][j]);
    }
  }
}

// A's pairs widened in registers from one dword broadcast per row (an odd panel ends with a half
// pair whose missing element is +0, so nothing past a row of A is read).
template <int MR, int NS>
void micro_fma(const Bf16Micro& m) {
  VF acc[MR][NS * kSv];
  start(m, acc);
  const int64_t np = m.kc >> 1;
  const auto widen = [](uint32_t pair, VF& ao, VF& ae) {
    const VI av = set1_u32(pair);
    ao = widen_hi(av);
    ae = widen_lo(av);
  };
  fma_pairs<MR, NS>(m, 0, np, acc, [&](int r, int64_t p, VF& ao, VF& ae) { widen(a_pair(m.a[r], p), ao, ae); });
  if (m.kc & 1)
    fma_pairs<MR, NS>(m, np, np + 1, acc, [&](int r, int64_t p, VF& ao, VF& ae) { widen(a_half(m.a[r], p), ao, ae); });
  finish<MR, NS * kSv>(m, acc);
}

// The same chain on A widened beforehand (gemm_bf16_widen_avx512; the half pair of an odd panel
// has an odd element of +0): each row's pair is two binary32 broadcasts from memory (folded into
// vfmadd231ps), so the only ALU work besides the FMAs is W's widening, shared by MR rows (8 x 3
// spends 48 of 54 vector uops on FMAs). Same instructions per output element as micro_fma.
template <int MR, int NS>
void micro_wide(const Bf16Micro& m) {
  VF acc[MR][NS * kSv];
  start(m, acc);
  const float* ao[MR];
  const float* ae[MR];
#pragma GCC unroll 12
  for (int r = 0; r < MR; ++r) {
    ao[r] = m.af[r];
    ae[r] = m.af[r] + m.af_even;
  }
  fma_pairs<MR, NS>(m, 0, (m.kc + 1) >> 1, acc, [&](int r, int64_t p, VF& o, VF& e) {
    o = set1_f(ao[r][p]);
    e = set1_f(ae[r][p]);
  });
  finish<MR, NS * kSv>(m, acc);
}

}  // namespace

void KCS_ISA_FN(gemm_bf16_store_row)(const float* c, int64_t n, DType dtype, void* y) {
  for_lanes(n, [&](int64_t j, int64_t r) { put(loadn_f32(c + j, r), dtype, static_cast<char*>(y), j, 0, r); });
}

uint32_t KCS_ISA_FN(gemm_bf16_min_mag)(const uint16_t* x, int64_t n) {
  // min over (|bits| - 1) as unsigned 16-bit: zeros (and a tail's zero padding) wrap to 0xFFFF
  // and never win.
  constexpr int64_t kW = 2 * kLanes;  // words per vector
  const VI abs_mask = set1_u16(0x7FFF), one = set1_u16(1);
  VI m0 = set1_u16(0xFFFF), m1 = m0;
  int64_t j = 0;
  for (; j + 2 * kW <= n; j += 2 * kW) {
    m0 = min_u16(m0, sub_u16(and_i(loadv_u32(x + j), abs_mask), one));
    m1 = min_u16(m1, sub_u16(and_i(loadv_u32(x + j + kW), abs_mask), one));
  }
  for (; j < n; j += kW) m0 = min_u16(m0, sub_u16(and_i(loadn_u16(x + j, n - j), abs_mask), one));
  return hmin_u16(min_u16(m0, m1)) + 1u;
}

}  // namespace kcs::opt
