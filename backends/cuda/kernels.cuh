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

// The same steps with the row held in registers (one read of x instead of two): L lanes per row,
// each lane CH chunks of 8 elements, all loads issued before the first use. Chunk c of lane l is
// elements [8 (c L + l), +8): a warp's loads of one chunk are contiguous 16-byte pieces.
template <int L, int CH, int DT>
__global__ void __launch_bounds__(256) q8_reg_kernel(Q8Args a) {
  const int lane = threadIdx.x % L;
  const int64_t r = (static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) / L;
  const bool live = r < a.rows;
  const int64_t base = live ? r * a.n : 0;
  float v[CH][8];
  uint32_t best = 0;
#pragma unroll
  for (int c = 0; c < CH; ++c) {
    const int64_t j = 8 * (c * L + lane);
    if (live && j < a.n) {
      widen8(a.x, base + j, DT, v[c]);
#pragma unroll
      for (int k = 0; k < 8; ++k) best = max(best, __float_as_uint(v[c][k]) & 0x7FFFFFFFu);
    }
  }
#pragma unroll
  for (int off = L / 2; off > 0; off >>= 1) best = max(best, __shfl_xor_sync(0xFFFFFFFFu, best, off));
  if (!live) return;
  float amax = __uint_as_float(best);
  if (a.floor && !(amax >= 1e-4f) && !isnan(amax)) amax = 1e-4f;
  const float sq = amax == 0.0f ? 0.0f : __fdiv_rn(127.0f, amax);
#pragma unroll
  for (int c = 0; c < CH; ++c) {
    const int64_t j = 8 * (c * L + lane);
    if (j >= a.n) continue;
    uint32_t lo = 0, hi = 0;
#pragma unroll
    for (int k = 0; k < 8; ++k) {
      const uint32_t q = static_cast<uint8_t>(amax == 0.0f ? 0 : q8_code(__fmul_rn(v[c][k], sq), a.rhaz));
      if (k < 4) lo |= q << (8 * k); else hi |= q << (8 * (k - 4));
    }
    *reinterpret_cast<uint2*>(a.codes + base + j) = make_uint2(lo, hi);
  }
  if (lane == 0) {
    const float sdq = amax == 0.0f ? 0.0f : __fdiv_rn(1.0f, sq);
    if (a.scale_fp16)
      static_cast<uint16_t*>(a.scale)[r] = __half_as_ushort(__float2half_rn(sdq));
    else
      static_cast<float*>(a.scale)[r] = sdq;
  }
}

// Lanes per row for q8_kernel and the grid for 256-thread blocks.
inline int q8_lanes(int64_t n) {
  int L = 32;
  while (L > 1 && static_cast<int64_t>(L) * 8 > n) L /= 2;
  return L;
}

template <int L, int CH>
inline void q8_launch_reg(const Q8Args& a, cudaStream_t s) {
  const unsigned grid = static_cast<unsigned>((a.rows * L + 255) / 256);
  if (a.x_dtype == kFP32)
    q8_reg_kernel<L, CH, kFP32><<<grid, 256, 0, s>>>(a);
  else
    q8_reg_kernel<L, CH, kBF16><<<grid, 256, 0, s>>>(a);
}

// Rows of n % 8 == 0 up to 2048 elements go through q8_reg_kernel: about n / 32 lanes a row (4 for
// n = 128, 32 from n = 1024), so that each lane holds 2 to 8 chunks in flight.
inline void q8_launch(const Q8Args& a, cudaStream_t s = 0) {
  const int64_t n = a.n;
  if (n % 8 == 0 && n <= 2048 && a.x_dtype != kFP16) {
    if (n <= 16) return q8_launch_reg<1, 2>(a, s);
    if (n <= 64) return q8_launch_reg<2, 4>(a, s);
    if (n <= 128) return q8_launch_reg<4, 4>(a, s);
    if (n <= 256) return q8_launch_reg<8, 4>(a, s);
    if (n <= 512) return q8_launch_reg<16, 4>(a, s);
    if (n <= 1024) return q8_launch_reg<32, 4>(a, s);
    if (n <= 1536) return q8_launch_reg<32, 6>(a, s);
    return q8_launch_reg<32, 8>(a, s);
  }
  const int L = q8_lanes(n);
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
__host__ __device__ __forceinline__ uint32_t bits_of(float f) {
#ifdef __CUDA_ARCH__
  return __float_as_uint(f);
#else
  uint32_t u;
  __builtin_memcpy(&u, &f, 4);
  return u;
#endif
}

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

// The tensor is staged as one flat run of 16-element groups (K % 16 == 0: a group never crosses a
// row; x_fp4 and x_sf are row-major, so group g's codes are bytes [8g, 8g+8) and its scale byte is
// x_sf[g]). A warp takes kStageChunks chunks of 256 elements; in each, lane l loads elements
// [8l, 8l+8) (16 contiguous bytes per lane for BF16 and FP16: one fully used 512-byte access per
// warp), lanes 2i and 2i+1 share group i and join their amax with one shuffle, and each lane
// stores its 8 codes as one 32-bit word (128 contiguous bytes per warp). The reciprocal
// 1/max(ŝ, 1e-6) takes one of 128 values (ŝ decodes a 7-bit UE4M3 byte): each block computes the
// 128 once with the same IEEE division and looks them up.
constexpr int kStageChunks = 2;

template <int DT>
__global__ void __launch_bounds__(256) nvfp4_stage_kernel(StageArgs a) {
  __shared__ float inv_of[128];
  if (threadIdx.x < 128) {
    const float sh = e4m3_decode(static_cast<uint8_t>(threadIdx.x));
    inv_of[threadIdx.x] = __fdiv_rn(1.0f, sh < 1e-6f ? 1e-6f : sh);
  }
  const int64_t tid = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  // top-k pass-through: one element per thread, coalesced.
  if (tid < a.M * a.top_k) {
    a.ids_out[tid] = a.ids_i64 ? static_cast<const int64_t*>(a.ids)[tid]
                               : static_cast<int64_t>(static_cast<const int32_t*>(a.ids)[tid]);
    a.weights_out[tid] = a.weights[tid];
  }
  __syncthreads();
  const bool even = a.ties_even || a.broken_ties;
  const int lane = threadIdx.x % 32;
  const int64_t warp = tid / 32;
  const int64_t n_elems = a.M * a.K;
  float v[kStageChunks][8];
#pragma unroll
  for (int c = 0; c < kStageChunks; ++c) {
    const int64_t e = (warp * kStageChunks + c) * 256 + 8 * lane;
    if (e < n_elems) widen8(a.x, e, DT, v[c]);
  }
#pragma unroll
  for (int c = 0; c < kStageChunks; ++c) {
    const int64_t e = (warp * kStageChunks + c) * 256 + 8 * lane;
    // Largest |bit pattern| of the group (NaN beats Inf), as the reference's nvfp4_amax.
    uint32_t ab = 0;
    if (e < n_elems)
#pragma unroll
      for (int i = 0; i < 8; ++i) ab = max(ab, __float_as_uint(v[c][i]) & 0x7FFFFFFFu);
    ab = max(ab, __shfl_xor_sync(0xFFFFFFFFu, ab, 1));
    // n_elems is a multiple of 128: a live lane's partner is live too.
    if (e >= n_elems) continue;
    // tl.maximum(amax, 1e-4) as the reference writes it: a NaN amax stays, payload and all. The
    // comparison is on the bits: nvcc turns a float compare-and-select into FMNMX, which
    // returns the canonical NaN 0x7FFFFFFF and so a different scale byte.
    if (ab < 0x38D1B717u) ab = 0x38D1B717u;  // f32(1e-4)
    const float amax = __uint_as_float(ab);
    // A NaN amax (a NaN input: outside the kernel's contract, docs/kernels/nvfp4_quant.md) keeps
    // its payload through the division, as IEEE 754 recommends and x86 does; CUDA's division
    // returns its canonical NaN, whose bits would encode another scale byte than kcs's definition
    // (0x78 instead of 0x7C).
    float scale = isnan(amax) ? __uint_as_float(__float_as_uint(amax) | 0x400000u) : __fdiv_rn(amax, 6.0f);
    if (a.saturate_scale && scale > 448.0f) scale = 448.0f;
    const uint8_t code = e4m3_encode(scale);
    const float inv = inv_of[code];
    uint32_t word = 0;
#pragma unroll
    for (int i = 0; i < 8; ++i) word |= static_cast<uint32_t>(e2m1_code(__fmul_rn(v[c][i], inv), even)) << (4 * i);
    reinterpret_cast<uint32_t*>(a.x_fp4)[e / 8] = word;
    if ((lane & 1) == 0) a.x_sf[e / 16] = code;
  }
}

inline void nvfp4_stage_launch(const StageArgs& a, cudaStream_t s = 0) {
  const int64_t per_block = 256 / 32 * kStageChunks * 256;  // elements
  const int64_t blocks = std::max((a.M * a.K + per_block - 1) / per_block, (a.M * a.top_k + 255) / 256);
  if (a.x_dtype == kFP32)
    nvfp4_stage_kernel<kFP32><<<static_cast<unsigned>(blocks), 256, 0, s>>>(a);
  else if (a.x_dtype == kFP16)
    nvfp4_stage_kernel<kFP16><<<static_cast<unsigned>(blocks), 256, 0, s>>>(a);
  else
    nvfp4_stage_kernel<kBF16><<<static_cast<unsigned>(blocks), 256, 0, s>>>(a);
}

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
