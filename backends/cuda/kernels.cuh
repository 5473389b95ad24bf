// CUDA kernels of the kcs CUDA plug-in: Q8 (docs/kernels/q8.md) and NVFP4 staging (docs/kernels/nvfp4_quant.md), written
// from their binary32 steps. Every float operation that a definition fixes is an explicit
// round-to-nearest intrinsic (__fdiv_rn, __fmul_rn), so that -use_fast_math or FMA contraction
// can never change a bit.
#pragma once

#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>

namespace kcs_cuda {

enum InDType : int { kBF16 = 0, kFP16 = 1, kFP32 = 2 };

// FP16 -> FP32 keeping a NaN's payload (as kcs's fp16_to_float does): __half2float returns the
// canonical NaN, whose bits would change a NaN group's NVFP4 scale byte.
__device__ __forceinline__ float half_bits_to_float(uint16_t h) {
  if ((h & 0x7C00u) == 0x7C00u && (h & 0x3FFu))
    return __uint_as_float((static_cast<uint32_t>(h & 0x8000u) << 16) | 0x7F800000u |
                           (static_cast<uint32_t>(h & 0x3FFu) << 13));
  return __half2float(__ushort_as_half(h));
}

__host__ __device__ __forceinline__ uint32_t bits_of(float f) {
#ifdef __CUDA_ARCH__
  return __float_as_uint(f);
#else
  uint32_t u;
  __builtin_memcpy(&u, &f, 4);
  return u;
#endif
}

__host__ __device__ __forceinline__ float float_of(uint32_t u) {
#ifdef __CUDA_ARCH__
  return __uint_as_float(u);
#else
  float f;
  __builtin_memcpy(&f, &u, 4);
  return f;
#endif
}

__device__ __forceinline__ float load_widened(const void* p, int64_t i, int dtype) {
  if (dtype == kFP32) return static_cast<const float*>(p)[i];
  const uint16_t h = static_cast<const uint16_t*>(p)[i];
  if (dtype == kBF16) return __uint_as_float(static_cast<uint32_t>(h) << 16);
  return half_bits_to_float(h);
}

// ---------------------------------------------------------------------------------------------
// Q8. amax is the largest |bit pattern| (NaN beats Inf, kcs's definition for
// out-of-contract rows), s_q = 127 / a, y = v * s_q, code = sat8(rmode(y)) (the FP16 round trip
// of the source is exact for |i| <= 2048 and saturates the same beyond), s_dq = 1 / s_q.
struct Q8Args {
  const void* x;
  int x_dtype;  // kBF16 or kFP32
  int64_t rows, n;
  bool rhaz, floor, scale_fp16;
  int8_t* codes;
  void* scale;
};

__device__ __forceinline__ void widen8(const void* p, int64_t i, int dtype, float* v) {
  if (dtype == kFP32) {
    const float4 a = *reinterpret_cast<const float4*>(static_cast<const float*>(p) + i);
    const float4 b = *reinterpret_cast<const float4*>(static_cast<const float*>(p) + i + 4);
    v[0] = a.x, v[1] = a.y, v[2] = a.z, v[3] = a.w, v[4] = b.x, v[5] = b.y, v[6] = b.z, v[7] = b.w;
    return;
  }
  const uint4 u = *reinterpret_cast<const uint4*>(static_cast<const uint16_t*>(p) + i);
  const uint32_t w[4] = {u.x, u.y, u.z, u.w};
  for (int k = 0; k < 4; ++k) {
    const uint16_t lo = static_cast<uint16_t>(w[k] & 0xFFFFu), hi = static_cast<uint16_t>(w[k] >> 16);
    if (dtype == kBF16) {
      v[2 * k] = __uint_as_float(static_cast<uint32_t>(lo) << 16);
      v[2 * k + 1] = __uint_as_float(static_cast<uint32_t>(hi) << 16);
    } else {
      v[2 * k] = half_bits_to_float(lo);
      v[2 * k + 1] = half_bits_to_float(hi);
    }
  }
}

__device__ __forceinline__ int8_t q8_code(float y, bool rhaz) {
  if (isnan(y)) return 0;
  const float q = rhaz ? roundf(y) : rintf(y);
  return q >= 127.0f ? 127 : q <= -128.0f ? -128 : static_cast<int8_t>(q);
}

// A team of L lanes per row (L = 32, or fewer for short rows so that no lane idles: 16 for
// n = 128), 16-byte loads when the row length is a multiple of 8. lanes_per_row is a power of 2.
// The general path: rows longer than q8_reg_kernel holds, or n not a multiple of 8.
__global__ void q8_kernel(Q8Args a, int lanes_per_row) {
  const int L = lanes_per_row;
  const int lane = threadIdx.x % L;
  const int64_t r = (static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) / L;
  const bool live = r < a.rows;
  const bool vec = a.n % 8 == 0;
  const int64_t base = live ? r * a.n : 0;
  uint32_t best = 0;
  if (live && vec) {
    for (int64_t j = lane * 8; j < a.n; j += 8 * L) {
      float v[8];
      widen8(a.x, base + j, a.x_dtype, v);
      for (int k = 0; k < 8; ++k) best = max(best, __float_as_uint(v[k]) & 0x7FFFFFFFu);
    }
  } else if (live) {
    for (int64_t j = lane; j < a.n; j += L)
      best = max(best, __float_as_uint(load_widened(a.x, base + j, a.x_dtype)) & 0x7FFFFFFFu);
  }
  for (int off = L / 2; off > 0; off >>= 1) best = max(best, __shfl_xor_sync(0xFFFFFFFFu, best, off));
  if (!live) return;
  float amax = __uint_as_float(best);
  if (a.floor && !(amax >= 1e-4f) && !isnan(amax)) amax = 1e-4f;
  // amax == 0: codes 0 and s_dq = +0 (kcs's definition; the source divides by zero).
  const float sq = amax == 0.0f ? 0.0f : __fdiv_rn(127.0f, amax);
  if (vec) {
    for (int64_t j = lane * 8; j < a.n; j += 8 * L) {
      float v[8];
      widen8(a.x, base + j, a.x_dtype, v);
      uint32_t lo = 0, hi = 0;
      for (int k = 0; k < 8; ++k) {
        const uint32_t c = static_cast<uint8_t>(amax == 0.0f ? 0 : q8_code(__fmul_rn(v[k], sq), a.rhaz));
        if (k < 4) lo |= c << (8 * k); else hi |= c << (8 * (k - 4));
      }
      *reinterpret_cast<uint2*>(a.codes + base + j) = make_uint2(lo, hi);
    }
  } else {
    for (int64_t j = lane; j < a.n; j += L)
      a.codes[base + j] = amax == 0.0f ? 0 : q8_code(__fmul_rn(load_widened(a.x, base + j, a.x_dtype), sq), a.rhaz);
  }
  if (lane == 0) {
    const float sdq = amax == 0.0f ? 0.0f : __fdiv_rn(1.0f, sq);
    if (a.scale_fp16)
      static_cast<uint16_t*>(a.scale)[r] = __half_as_ushort(__float2half_rn(sdq));
    else
      static_cast<float*>(a.scale)[r] = sdq;
  }
}

// q8_code's byte without the float -> int conversion units (FRND and F2I issue at a quarter of the
// FP32 rate and bounded the first kernels): clamp y to [-128, 127] (integer bounds, so clamping
// before rounding gives the same integer), round (rint: adding 1.5 * 2^23 rounds to an integer,
// ties to even; rhaz: roundf first, then the add is exact), and the integer is the low byte of the
// sum's bits. A NaN y codes 0. e2m1_exhaustive.cu checks it against q8_code's steps for all 2^32 y.
template <bool RHAZ>
__host__ __device__ __forceinline__ uint32_t q8_code_bits(float y) {
  float c = y > -128.0f ? y : -128.0f;
  c = c < 127.0f ? c : 127.0f;
  if (RHAZ) c = roundf(c);
#ifdef __CUDA_ARCH__
  const float t = __fadd_rn(c, 12582912.0f);
#else
  const float t = c + 12582912.0f;
#endif
  return y != y ? 0u : bits_of(t) & 0xFFu;
}

// The rint byte of a row whose amax a is finite and whose s_q = RN(127 / a) is finite: then
// |y| = RN(|v| s_q) <= RN(a RN(127 / a)) <= RN(127 (1 + 2^-24)) <= 127 + 2^-17, so neither the
// clamp nor the NaN test can act and the add alone gives the byte (checked for all |y| < 127.5).
__host__ __device__ __forceinline__ uint32_t q8_rint_byte_in_range(float y) {
#ifdef __CUDA_ARCH__
  return __float_as_uint(__fadd_rn(y, 12582912.0f)) & 0xFFu;
#else
  return bits_of(y + 12582912.0f) & 0xFFu;
#endif
}

// One row's codes from its loaded words: FAST is q8_rint_byte_in_range, else q8_code_bits<RHAZ>.
template <int L, int CH, int W, int DT, bool FAST, bool RHAZ = false>
__device__ __forceinline__ void q8_store_codes(const uint32_t (&raw)[CH][W], float sq, int8_t* row, int lane) {
#pragma unroll
  for (int c = 0; c < CH; ++c) {
    uint32_t q[8];
#pragma unroll
    for (int e = 0; e < 8; ++e) {
      const float v = DT == kFP32 ? __uint_as_float(raw[c][e % W])
                                  : __uint_as_float(e % 2 ? raw[c][e / 2] & 0xFFFF0000u : raw[c][e / 2] << 16);
      const float y = __fmul_rn(v, sq);
      q[e] = FAST ? q8_rint_byte_in_range(y) : q8_code_bits<RHAZ>(y);
    }
    const uint32_t lo = __byte_perm(__byte_perm(q[0], q[1], 0x0040), __byte_perm(q[2], q[3], 0x0040), 0x5410);
    const uint32_t hi = __byte_perm(__byte_perm(q[4], q[5], 0x0040), __byte_perm(q[6], q[7], 0x0040), 0x5410);
    *reinterpret_cast<uint2*>(row + 8 * (c * L + lane)) = make_uint2(lo, hi);
  }
}

// A row of Q8 held in registers as loaded (one read of x): L lanes a row, each lane CH chunks of 8
// elements, L * CH * 8 == n exactly; B threads a block; R rows a team, all loads issued before the first use (a thread
// past the last row loads the last row and stores nothing). Chunk c of lane l is elements
// [8 (c L + l), +8): a warp's loads of one chunk are contiguous 16-byte pieces. BF16 words stay
// packed: the amax of two elements is one 16x2 max of their magnitudes.
template <int L, int CH, int R, int DT, bool RHAZ, int B>
__global__ void __launch_bounds__(B) q8_reg_kernel(Q8Args a) {
  constexpr int W = DT == kFP32 ? 8 : 4;  // 32-bit words per chunk of 8 elements
  const int lane = threadIdx.x % L;
  const int64_t teams = static_cast<int64_t>(gridDim.x) * (B / L);  // rows one pass covers
  const int64_t r0 = static_cast<int64_t>(blockIdx.x) * (B / L) + threadIdx.x / L;
  uint32_t raw[R][CH][W];
#pragma unroll
  for (int k = 0; k < R; ++k) {
    const int64_t r = r0 + k * teams;
    const int64_t base = (r < a.rows ? r : a.rows - 1) * (L * CH * 8);
#pragma unroll
    for (int c = 0; c < CH; ++c) {
      const int64_t j = base + 8 * (c * L + lane);
      if (DT == kFP32) {
        const uint4 p = *reinterpret_cast<const uint4*>(static_cast<const float*>(a.x) + j);
        const uint4 q = *reinterpret_cast<const uint4*>(static_cast<const float*>(a.x) + j + 4);
        raw[k][c][0] = p.x, raw[k][c][1] = p.y, raw[k][c][2] = p.z, raw[k][c][3] = p.w;
        raw[k][c][4 % W] = q.x, raw[k][c][5 % W] = q.y, raw[k][c][6 % W] = q.z, raw[k][c][7 % W] = q.w;
      } else {
        const uint4 p = *reinterpret_cast<const uint4*>(static_cast<const uint16_t*>(a.x) + j);
        raw[k][c][0] = p.x, raw[k][c][1] = p.y, raw[k][c][2] = p.z, raw[k][c][3] = p.w;
      }
    }
  }
#pragma unroll
  for (int k = 0; k < R; ++k) {
    const int64_t r = r0 + k * teams;
    uint32_t best = 0;
#pragma unroll
    for (int c = 0; c < CH; ++c)
#pragma unroll
      for (int w = 0; w < W; ++w)
        best = DT == kFP32 ? max(best, raw[k][c][w] & 0x7FFFFFFFu) : __vmaxu2(best, raw[k][c][w] & 0x7FFF7FFFu);
    if (DT != kFP32) best = max(best & 0xFFFFu, best >> 16) << 16;
#pragma unroll
    for (int off = L / 2; off > 0; off >>= 1) best = max(best, __shfl_xor_sync(0xFFFFFFFFu, best, off));
    if (r >= a.rows) continue;
    float amax = __uint_as_float(best);
    if (a.floor && !(amax >= 1e-4f) && !isnan(amax)) amax = 1e-4f;
    // amax == 0: s_q = 0 and every y = +-0, so every code is 0 and s_dq = +0 (kcs's definition; the
    // source divides by zero).
    const float sq = amax == 0.0f ? 0.0f : __fdiv_rn(127.0f, amax);
    const bool in_range = !RHAZ && best < 0x7F800000u && __float_as_uint(sq) < 0x7F800000u;
    // The two paths apart, so that the registers of one do not add to the other's.
    if (in_range)
      q8_store_codes<L, CH, W, DT, true>(raw[k], sq, a.codes + r * (L * CH * 8), lane);
    else
      q8_store_codes<L, CH, W, DT, false, RHAZ>(raw[k], sq, a.codes + r * (L * CH * 8), lane);
    if (lane == 0) {
      const float sdq = amax == 0.0f ? 0.0f : __fdiv_rn(1.0f, sq);
      if (a.scale_fp16)
        static_cast<uint16_t*>(a.scale)[r] = __half_as_ushort(__float2half_rn(sdq));
      else
        static_cast<float*>(a.scale)[r] = sdq;
    }
  }
}

// Lanes per row for q8_kernel and the grid for 256-thread blocks.
inline int q8_lanes(int64_t n) {
  int L = 32;
  while (L > 1 && static_cast<int64_t>(L) * 8 > n) L /= 2;
  return L;
}

template <int L, int CH, int R, int B, bool RHAZ>
inline void q8_launch_reg(const Q8Args& a, cudaStream_t s) {
  const int64_t per_block = B / L * R;  // rows
  const unsigned grid = static_cast<unsigned>((a.rows + per_block - 1) / per_block);
  if (a.x_dtype == kFP32)
    q8_reg_kernel<L, CH, R, kFP32, RHAZ, B><<<grid, B, 0, s>>>(a);
  else
    q8_reg_kernel<L, CH, R, kBF16, RHAZ, B><<<grid, B, 0, s>>>(a);
}

// L lanes a row, CH chunks a lane, R rows a team, B threads a block.
template <int L, int CH, int R, int B = 256>
inline void q8_launch_reg(const Q8Args& a, cudaStream_t s) {
  if (a.rhaz)
    q8_launch_reg<L, CH, R, B, true>(a, s);
  else
    q8_launch_reg<L, CH, R, B, false>(a, s);
}

// The row lengths of the DeepSeek shapes (K1/K3: 128, K2: 1536, 512, ...) that split exactly into
// L lanes x CH chunks of 8 go through q8_reg_kernel (configurations timed in RESULTS.md); any
// other n through q8_kernel.
inline void q8_launch(const Q8Args& a, cudaStream_t s = 0) {
  if (a.rows <= 0) return;  // nothing to write (a grid of 0 blocks would be a launch error)
  if (a.x_dtype != kFP16) switch (a.n) {
      case 64: return q8_launch_reg<4, 2, 2>(a, s);
      case 128: return q8_launch_reg<8, 2, 1>(a, s);
      case 256: return q8_launch_reg<8, 4, 1>(a, s);
      case 512: return q8_launch_reg<16, 4, 1>(a, s);
      case 1024: return q8_launch_reg<32, 4, 1>(a, s);
      case 1536: return q8_launch_reg<32, 6, 1>(a, s);
      case 2048: return q8_launch_reg<32, 8, 1>(a, s);
      default: break;
    }
  const int L = q8_lanes(a.n);
  q8_kernel<<<static_cast<unsigned>((a.rows * L + 255) / 256), 256, 0, s>>>(a, L);
}

// ---------------------------------------------------------------------------------------------
// NVFP4 staging (docs/kernels/nvfp4_quant.md). A broken variant for the suite to catch: ties_even_in_away_mode codes the E2M1 ties to even
// although the call asks for `away` (the classic wrong port of the staging kernel).
struct StageArgs {
  const void* x;
  int x_dtype;
  int64_t M, K, top_k;
  bool ties_even, saturate_scale, broken_ties;
  const void* ids;
  bool ids_i64;
  const float* weights;
  uint8_t* x_fp4;
  uint8_t* x_sf;  // [M, K/16] bytes (the int32 words' little-endian bytes)
  int64_t* ids_out;
  float* weights_out;
};

__device__ __forceinline__ uint8_t e4m3_encode(float scale) {
  const uint32_t bits = __float_as_uint(scale);
  const int32_t e = static_cast<int32_t>((bits >> 23) & 0xFFu);
  const uint32_t f = bits & 0x7FFFFFu;
  const int32_t er = e - 120;
  int32_t mant, ex;
  if (er >= 1) {
    uint32_t m = f >> 20;
    const uint32_t guard = (f >> 19) & 1u;
    const uint32_t sticky = (f & 0x7FFFFu) != 0 ? 1u : 0u;
    m += guard & (sticky | (m & 1u));
    mant = static_cast<int32_t>(m);
    ex = er;
  } else {
    const int sh = 1 - er;
    const uint32_t mw = 0x800000u | f;
    const int s1 = sh + 20, s0 = sh + 19;
    uint32_t m = (s1 >= 32 ? 0u : mw >> s1) & 0x7u;
    const uint32_t guard = (s0 >= 32 ? 0u : mw >> s0) & 1u;
    const uint32_t lowmask = s0 >= 32 ? 0xFFFFFFFFu : (1u << s0) - 1u;
    const uint32_t sticky = (mw & lowmask) != 0 ? 1u : 0u;
    m += guard & (sticky | (m & 1u));
    mant = static_cast<int32_t>(m);
    ex = 0;
  }
  if (mant >= 8) {
    mant = 0;
    ex += 1;
  }
  ex = ex < 0 ? 0 : ex > 15 ? 15 : ex;
  return static_cast<uint8_t>((ex << 3) | mant);
}

__device__ __forceinline__ float e4m3_decode(uint8_t code) {
  const int32_t ex = (code >> 3) & 0xF, mant = code & 0x7;
  if (ex == 0) return __fmul_rn(__fmul_rn(static_cast<float>(mant), 0.125f), 0.015625f);
  const float two_pow = __uint_as_float(static_cast<uint32_t>(ex - 7 + 127) << 23);
  return __fmul_rn(__fadd_rn(1.0f, __fmul_rn(static_cast<float>(mant), 0.125f)), two_pow);
}

// E2M1 code of w as the reference's comparison chain defines it (reference/nvfp4_quant.cc): clamp
// to ±6 (a NaN stays NaN and codes +0), the code of |c| by its thresholds, the sign of c < 0 (-0
// codes +0). Here on the bits: from |c| = 1 up the E2M1 values are the binary32 values with one
// mantissa bit, so adding half an ulp of that bit (ties away) or half less one plus the kept bit
// (ties to even) and shifting rounds exactly; below 1 the two thresholds. e2m1_exhaustive.cu
// checks it against the comparison chain for all 2^32 inputs in both modes.

__host__ __device__ __forceinline__ uint8_t e2m1_code(float w, bool even) {
  const uint32_t u = bits_of(w), mag = u & 0x7FFFFFFFu;
  if (mag > 0x7F800000u) return 0;
  const uint32_t sign = (u >> 31) != 0 && mag != 0 ? 0x8u : 0u;
  const uint32_t m = mag < 0x40C00000u ? mag : 0x40C00000u;  // min(|w|, 6)
  uint32_t idx;
  if (m >= 0x3F800000u)
    idx = ((m + (even ? 0x1FFFFFu + ((m >> 22) & 1u) : 0x200000u)) >> 22) - 252u;
  else  // thresholds 0.25 and 0.75
    idx = (even ? m > 0x3E800000u : m >= 0x3E800000u) + (m >= 0x3F400000u ? 1u : 0u);
  return static_cast<uint8_t>(sign | idx);
}

// E2M1 code of a finite-group element w (no NaN), as e2m1_code, with most of the work on the FMA
// pipe (the ALU pipe bounded the first version: ncu, RESULTS.md): w + 0 turns -0 into +0 (any other
// w is unchanged), so the sign nibble is the sign bit; a = min(|w|, 6); from 2 up (index >= 4) the
// E2M1 values are the binary32 values with one mantissa bit, so adding half an ulp of that bit to
// the bits and shifting rounds ties away (one wide multiply-add: (bits * 2^10 + 2^31) >> 32); below
// 2 the values are the multiples of 0.5, and rounding min(a, 2) to them is an add of 2^22 (whose
// ulp is 0.5): round to nearest even for `even`, or for `away` floor(a + 0.25) by two
// round-toward-zero adds. The index is the larger of the two (each is at most the right one where
// the other is right), both kept offset by the bits of 2^22 so that one unsigned max compares them.
// e2m1_exhaustive.cu checks it against the comparison chain for every non-NaN binary32 w.
__host__ __device__ __forceinline__ float fadd_rz(float x, float y) {
#ifdef __CUDA_ARCH__
  return __fadd_rz(x, y);
#else
  const double d = static_cast<double>(x) + static_cast<double>(y);  // exact for the operands here
  float f = static_cast<float>(d);
  if (d >= 0 ? static_cast<double>(f) > d : static_cast<double>(f) < d) f = __builtin_nextafterf(f, 0.0f);
  return f;
#endif
}

__host__ __device__ __forceinline__ float fadd_rn(float x, float y) {
#ifdef __CUDA_ARCH__
  return __fadd_rn(x, y);
#else
  return x + y;
#endif
}

__host__ __device__ __forceinline__ uint32_t mulhi(uint32_t x, uint32_t y) {
#ifdef __CUDA_ARCH__
  return __umulhi(x, y);
#else
  return static_cast<uint32_t>((static_cast<uint64_t>(x) * y) >> 32);
#endif
}

template <bool EVEN>
__host__ __device__ __forceinline__ uint32_t e2m1_code_finite(float w) {
  constexpr uint32_t kOff = 0x4A800000u;  // bits of 2^22
  const float w0 = fadd_rn(w, 0.0f);
  const float a = fminf(fabsf(w0), 6.0f);
  const uint32_t ab = bits_of(a);
  uint32_t hi;
  if (EVEN)
    hi = ((ab + 0x1FFFFFu + ((ab >> 22) & 1u)) >> 22) + (kOff - 252u);
  else
    hi = static_cast<uint32_t>((static_cast<uint64_t>(ab) * 1024u + 0x80000000ull +
                                (static_cast<uint64_t>(kOff - 252u) << 32)) >> 32);
  const float a2 = fminf(a, 2.0f);
  const uint32_t lo = bits_of(EVEN ? fadd_rn(a2, 4194304.0f) : fadd_rz(fadd_rz(a2, 0.25f), 4194304.0f));
  return (hi > lo ? hi : lo) - kOff + 8u * mulhi(bits_of(w0), 2u);
}

// The tensor is staged as one flat run of 16-element groups (K % 16 == 0: a group never crosses a
// row; x_fp4 and x_sf are row-major, so group g's codes are bytes [8g, 8g+8) and its scale byte is
// x_sf[g]). Each lane owns whole groups (no group work done twice, no shuffles): a warp takes
// G runs of 32 consecutive groups, lane l group l of each run, loaded as 16-byte pieces (two for
// BF16 and FP16: the second hits the lines the first brought into L1), stores its 8 code bytes as one
// 8-byte word (256 contiguous bytes a warp) and its scale byte (32 contiguous bytes). A group whose
// amax is finite and at most 2688 (scale <= 448: the E4M3 byte is the hardware's round-to-nearest-
// even conversion, checked against e4m3_encode on the GPU for every such scale) takes the fast
// path; any other group the definition's steps as written. The reciprocal 1/max(ŝ, 1e-6) takes one
// of 128 values (ŝ decodes a 7-bit UE4M3 byte): each block computes the 128 once with the same
// IEEE division and looks them up.

__device__ __forceinline__ uint32_t e4m3_rn_hw(float scale) {
  uint16_t r;
  asm("cvt.rn.satfinite.e4m3x2.f32 %0, %1, %2;" : "=h"(r) : "f"(0.0f), "f"(scale));
  return r & 0xFFu;
}

template <int DT, bool EVEN, int G>
__global__ void __launch_bounds__(256) nvfp4_stage_kernel(StageArgs a) {
  constexpr int W = DT == kFP32 ? 16 : 8;  // 32-bit words a group
  __shared__ float inv_of[128];
  const int64_t tid = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  const int lane = threadIdx.x % 32;
  const int64_t warp = tid / 32;
  const int64_t n_groups = a.M * a.K / 16;
  uint32_t raw[G][W];
  // The loads go out first; the table and the top-k copy overlap them.
#pragma unroll
  for (int k = 0; k < G; ++k) {
    const int64_t g = (warp * G + k) * 32 + lane;
    if (g < n_groups) {
#pragma unroll
      for (int h = 0; h < W / 4; ++h) {
        const uint4 p = reinterpret_cast<const uint4*>(a.x)[g * (W / 4) + h];
        raw[k][4 * h] = p.x, raw[k][4 * h + 1] = p.y, raw[k][4 * h + 2] = p.z, raw[k][4 * h + 3] = p.w;
      }
    }
  }
  if (threadIdx.x < 128) {
    const float sh = e4m3_decode(static_cast<uint8_t>(threadIdx.x));
    inv_of[threadIdx.x] = __fdiv_rn(1.0f, sh < 1e-6f ? 1e-6f : sh);
  }
  // top-k pass-through: one element per thread, coalesced.
  if (tid < a.M * a.top_k) {
    a.ids_out[tid] = a.ids_i64 ? static_cast<const int64_t*>(a.ids)[tid]
                               : static_cast<int64_t>(static_cast<const int32_t*>(a.ids)[tid]);
    a.weights_out[tid] = a.weights[tid];
  }
  __syncthreads();
#pragma unroll
  for (int k = 0; k < G; ++k) {
    const int64_t g = (warp * G + k) * 32 + lane;
    if (g >= n_groups) continue;
    float v[16];
#pragma unroll
    for (int i = 0; i < 16; ++i)
      v[i] = DT == kFP32   ? __uint_as_float(raw[k][i % W])
             : DT == kBF16 ? __uint_as_float(i % 2 ? raw[k][i / 2] & 0xFFFF0000u : raw[k][i / 2] << 16)
                           : half_bits_to_float(static_cast<uint16_t>(i % 2 ? raw[k][i / 2] >> 16 : raw[k][i / 2]));
    // Largest |bit pattern| of the group (NaN beats Inf), as the reference's nvfp4_amax; BF16 two
    // at a time.
    uint32_t ab = 0;
    if (DT == kBF16) {
#pragma unroll
      for (int i = 0; i < 8; ++i) ab = __vmaxu2(ab, raw[k][i] & 0x7FFF7FFFu);
      ab = max(ab & 0xFFFFu, ab >> 16) << 16;
    } else {
#pragma unroll
      for (int i = 0; i < 16; ++i) ab = max(ab, __float_as_uint(v[i]) & 0x7FFFFFFFu);
    }
    // tl.maximum(amax, 1e-4) as the reference writes it: a NaN amax stays, payload and all. The
    // comparison is on the bits: nvcc turns a float compare-and-select into FMNMX, which
    // returns the canonical NaN 0x7FFFFFFF and so a different scale byte.
    if (ab < 0x38D1B717u) ab = 0x38D1B717u;  // f32(1e-4)
    uint32_t word0 = 0, word1 = 0, code;
    if (ab <= 0x45280000u) {  // 2688 = 6 * 448
      code = e4m3_rn_hw(__fdiv_rn(__uint_as_float(ab), 6.0f));
      const float inv = inv_of[code];
      // + rather than |: the nibbles do not overlap, and the adds fold into multiply-adds.
#pragma unroll
      for (int i = 0; i < 8; ++i) {
        word0 += e2m1_code_finite<EVEN>(__fmul_rn(v[i], inv)) << (4 * i);
        word1 += e2m1_code_finite<EVEN>(__fmul_rn(v[i + 8], inv)) << (4 * i);
      }
    } else {
      const float amax = __uint_as_float(ab);
      // A NaN amax (a NaN input: outside the kernel's contract, docs/kernels/nvfp4_quant.md) keeps
      // its payload through the division, as IEEE 754 recommends and x86 does; CUDA's division
      // returns its canonical NaN, whose bits would encode another scale byte than kcs's
      // definition (0x78 instead of 0x7C).
      float scale = isnan(amax) ? __uint_as_float(__float_as_uint(amax) | 0x400000u) : __fdiv_rn(amax, 6.0f);
      if (a.saturate_scale && scale > 448.0f) scale = 448.0f;
      code = e4m3_encode(scale);
      const float inv = inv_of[code];
#pragma unroll
      for (int i = 0; i < 8; ++i) {
        word0 |= static_cast<uint32_t>(e2m1_code(__fmul_rn(v[i], inv), EVEN)) << (4 * i);
        word1 |= static_cast<uint32_t>(e2m1_code(__fmul_rn(v[i + 8], inv), EVEN)) << (4 * i);
      }
    }
    reinterpret_cast<uint2*>(a.x_fp4)[g] = make_uint2(word0, word1);
    a.x_sf[g] = static_cast<uint8_t>(code);
  }
}

template <int DT, int G>
inline void nvfp4_stage_launch_dt(const StageArgs& a, int64_t blocks, cudaStream_t s) {
  if (a.ties_even || a.broken_ties)
    nvfp4_stage_kernel<DT, true, G><<<static_cast<unsigned>(blocks), 256, 0, s>>>(a);
  else
    nvfp4_stage_kernel<DT, false, G><<<static_cast<unsigned>(blocks), 256, 0, s>>>(a);
}

template <int G>
inline void nvfp4_stage_launch_g(const StageArgs& a, cudaStream_t s) {
  const int64_t per_block = 256 * G * 16;  // elements
  const int64_t blocks = std::max((a.M * a.K + per_block - 1) / per_block, (a.M * a.top_k + 255) / 256);
  if (a.x_dtype == kFP32)
    nvfp4_stage_launch_dt<kFP32, G>(a, blocks, s);
  else if (a.x_dtype == kFP16)
    nvfp4_stage_launch_dt<kFP16, G>(a, blocks, s);
  else
    nvfp4_stage_launch_dt<kBF16, G>(a, blocks, s);
}

// One group a lane: on the H100 it was the fastest of 1, 2 and 4 at M = 128, 4096 and 16384
// (RESULTS.md), the fewer registers keeping more warps resident.
inline void nvfp4_stage_launch(const StageArgs& a, cudaStream_t s = 0) { nvfp4_stage_launch_g<1>(a, s); }

// ---------------------------------------------------------------------------------------------
// K5 compressor (docs/kernels/compressor.md), one CUDA block per (compressed block, head). The logit is one
// binary32 add z = score + ape (the official state buffer's fp32 sum); max, exp(z - max) and the
// two sums in binary64 in the window's fixed order (a binary32 exp of a ±160 argument difference
// would already exceed the 2^-20 budget), the epilogue in binary64 with the declared BF16 casts.
struct CompressorHead {
  const void* proj;  // [N, G, 2*Ch]
  const void* prev;  // [M, 2*Ch] or null
  const float* ape;  // [G, M, Ch]
  const float* norm_w;
  const uint16_t* hadamard;  // [Ch, Ch] BF16, or null (no rotation)
  uint16_t* out;             // [n_blocks, Ch]
  int64_t Ch, nope;
  bool rope;
};

struct CompressorArgs {
  CompressorHead head[2];
  int n_heads;
  bool csa, model, external_prev, proj_bf16, table_bf16;
  int64_t n_blocks, M, ROPE, start_token, start_abs_pos;
  double eps;
  const void* table;  // [P, ROPE]
};

__device__ __forceinline__ uint16_t bf16_from_double_rn(double d) {
  if (isnan(d)) return static_cast<uint16_t>((__double_as_longlong(d) < 0 ? 0x8000u : 0u) | 0x7FC0u);
  // Round to odd into binary32 (24 bits, more than 8 + 2), then to nearest even into BF16: one
  // correct rounding of the binary64 value.
  float f = __double2float_rz(d);
  if (static_cast<double>(f) != d && !isinf(f)) f = __uint_as_float(__float_as_uint(f) | 1u);
  uint32_t u = __float_as_uint(f);
  u += 0x7FFFu + ((u >> 16) & 1u);
  return static_cast<uint16_t>(u >> 16);
}

__device__ __forceinline__ double widen_any(const void* p, int64_t i, bool bf16) {
  return bf16 ? static_cast<double>(__uint_as_float(static_cast<uint32_t>(static_cast<const uint16_t*>(p)[i]) << 16))
              : static_cast<double>(static_cast<const float*>(p)[i]);
}

constexpr int kMaxCh = 512;

__global__ void compressor_kernel(CompressorArgs a) {
  const int64_t i = blockIdx.x;
  const CompressorHead& h = a.head[blockIdx.y];
  const int64_t Ch = h.Ch, M = a.M, W = a.csa ? 2 * M : M, G = a.csa ? 2 : 1, R = a.ROPE;
  const int64_t row = G * 2 * Ch;
  __shared__ double pd[kMaxCh];   // pooled (binary64)
  __shared__ double nv[kMaxCh];   // model: normalised values, then their BF16 (as doubles)
  __shared__ double red[256];
  for (int64_t c = threadIdx.x; c < Ch; c += blockDim.x) {
    double mx = -3.4028234663852886e38;  // -FLT_MAX; NaN logits are ignored by the max
    for (int pass = 0; pass < 2; ++pass) {
      double den = 0, acc = 0;
      for (int64_t q = 0; q < W; ++q) {
        const bool cur = q < M;
        const int64_t p = cur ? q : q - M;
        const void* src = h.proj;
        int64_t base;
        if (cur) {
          base = (a.start_token + i * M + p) * row;
        } else if (i > 0) {
          base = (a.start_token + (i - 1) * M + p) * row + 2 * Ch;
        } else if (a.external_prev) {
          src = h.prev;
          base = p * 2 * Ch;
        } else {
          continue;  // fresh first block: logit -inf, value 0, adds e = 0 to both sums
        }
        const float score = static_cast<float>(widen_any(src, base + Ch + c, a.proj_bf16));
        const float z = __fadd_rn(score, h.ape[((cur ? 0 : 1) * M + p) * Ch + c]);
        if (pass == 0) {
          mx = fmax(mx, static_cast<double>(z));
        } else {
          const double e = exp(static_cast<double>(z) - mx);
          den += e;
          acc += e * widen_any(src, base + c, a.proj_bf16);
        }
      }
      if (pass == 1) pd[c] = acc / den;
    }
  }
  __syncthreads();
  auto table = [&](int64_t pos, int64_t j) {
    return static_cast<double>(static_cast<float>(widen_any(a.table, pos * R + j, a.table_bf16)));
  };
  if (!a.model) {  // fused epilogue: BF16 of pooled; main head's rope pairs at the block-end position
    const int64_t pos = a.start_abs_pos + i * M + M - 1;
    for (int64_t c = threadIdx.x; c < Ch; c += blockDim.x) {
      double y = pd[c];
      if (h.rope && c >= h.nope) {
        const int64_t pr = (c - h.nope) / 2, o0 = h.nope + 2 * pr;
        const double cs = table(pos, pr), sn = table(pos, pr + R / 2);
        y = (c - h.nope) % 2 == 0 ? pd[o0] * cs - pd[o0 + 1] * sn : pd[o0] * sn + pd[o0 + 1] * cs;
      }
      h.out[i * Ch + c] = bf16_from_double_rn(y);
    }
    return;
  }
  // Model epilogue: xb = bf16(pooled); n = bf16(w * (xb * rsqrt(mean(xb^2) + eps))).
  double part = 0;
  for (int64_t c = threadIdx.x; c < Ch; c += blockDim.x) {
    const double x = static_cast<double>(__uint_as_float(static_cast<uint32_t>(bf16_from_double_rn(pd[c])) << 16));
    pd[c] = x;
    part += x * x;
  }
  red[threadIdx.x] = part;
  __syncthreads();
  for (int s = blockDim.x / 2; s > 0; s >>= 1) {
    if (static_cast<int>(threadIdx.x) < s) red[threadIdx.x] += red[threadIdx.x + s];
    __syncthreads();
  }
  const double r = 1.0 / sqrt(red[0] / static_cast<double>(Ch) + a.eps);
  for (int64_t c = threadIdx.x; c < Ch; c += blockDim.x) {
    const double y = static_cast<double>(h.norm_w[c]) * (pd[c] * r);
    nv[c] = static_cast<double>(__uint_as_float(static_cast<uint32_t>(bf16_from_double_rn(y)) << 16));
  }
  __syncthreads();
  // R-PAIR RoPE on the last ROPE columns at the block-start position, rounded to BF16.
  const int64_t pos = a.start_abs_pos + i * M;
  for (int64_t c = threadIdx.x; c < Ch; c += blockDim.x) {
    double y = nv[c];
    if (c >= h.nope) {
      const int64_t pr = (c - h.nope) / 2, o0 = h.nope + 2 * pr;
      const double cs = table(pos, pr), sn = table(pos, pr + R / 2);
      y = (c - h.nope) % 2 == 0 ? nv[o0] * cs - nv[o0 + 1] * sn : nv[o0] * sn + nv[o0 + 1] * cs;
    }
    pd[c] = static_cast<double>(__uint_as_float(static_cast<uint32_t>(bf16_from_double_rn(y)) << 16));
  }
  __syncthreads();
  for (int64_t c = threadIdx.x; c < Ch; c += blockDim.x) {
    double y = pd[c];
    if (h.hadamard) {  // indexer rotate path: y = bf16(rope · H)
      y = 0;
      for (int64_t k = 0; k < Ch; ++k)
        y += pd[k] * static_cast<double>(__uint_as_float(static_cast<uint32_t>(h.hadamard[k * Ch + c]) << 16));
    }
    h.out[i * Ch + c] = bf16_from_double_rn(y);
  }
}

inline void compressor_launch(const CompressorArgs& a, cudaStream_t s = 0) {
  compressor_kernel<<<dim3(static_cast<unsigned>(a.n_blocks), static_cast<unsigned>(a.n_heads)), 256, 0, s>>>(a);
}

}  // namespace kcs_cuda
