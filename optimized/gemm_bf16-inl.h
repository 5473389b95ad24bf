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

// One pair step of the FMA path for one row: odd element first, as vdpbf16ps does.
template <int NV>
inline void fma_pair(VF (&acc)[NV], const VF (&wo)[NV], const VF (&we)[NV], uint32_t pair) {
  const VI av = set1_u32(pair);
  const VF ao = widen_hi(av), ae = widen_lo(av);
#pragma GCC unroll 4
  for (int j = 0; j < NV; ++j) acc[j] = fmadd_f(ao, wo[j], acc[j]);
#pragma GCC unroll 4
  for (int j = 0; j < NV; ++j) acc[j] = fmadd_f(ae, we[j], acc[j]);
}

template <int NS>
inline void widen_w(const uint32_t* w, int64_t ws, int64_t p, VF (&wo)[NS * kSv], VF (&we)[NS * kSv]) {
#pragma GCC unroll 4
  for (int i = 0; i < NS * kSv; ++i) {
    const VI d = loadv_u32(w + (i / kSv) * ws + p * 16 + kLanes * (i % kSv));
    wo[i] = widen_hi(d);
    we[i] = widen_lo(d);
  }
}

template <int MR, int NS>
void micro_fma(const Bf16Micro& m) {
  constexpr int NV = NS * kSv;
  VF acc[MR][NV];
#pragma GCC unroll 4
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 4
    for (int i = 0; i < NV; ++i) acc[r][i] = m.mode == Bf16Mode::chain ? loadv_f32(m.c[r] + kLanes * i) : zero_f();
  const int64_t np = m.kc >> 1;
  VF wo[NV], we[NV];
  for (int64_t p = 0; p < np; ++p) {
    widen_w<NS>(m.w, m.w_strip_stride, p, wo, we);
#pragma GCC unroll 4
    for (int r = 0; r < MR; ++r) fma_pair<NV>(acc[r], wo, we, a_pair(m.a[r], p));
  }
  if (m.kc & 1) {
    widen_w<NS>(m.w, m.w_strip_stride, np, wo, we);
#pragma GCC unroll 4
    for (int r = 0; r < MR; ++r) fma_pair<NV>(acc[r], wo, we, a_half(m.a[r], np));
  }
  finish<MR, NV>(m, acc);
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
