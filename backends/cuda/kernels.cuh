// CUDA kernels of the kcs CUDA plug-in: Q8 (docs/kernels/q8.md) and NVFP4 staging (docs/kernels/nvfp4_quant.md), written
// from their binary32 steps. Every float operation that a definition fixes is an explicit
// round-to-nearest intrinsic (__fdiv_rn, __fmul_rn), so that -use_fast_math or FMA contraction
// can never change a bit.
#pragma once

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

// Lanes per row for q8_kernel and the grid for 256-thread blocks.
inline int q8_lanes(int64_t n) {
  int L = 32;
  while (L > 1 && static_cast<int64_t>(L) * 8 > n) L /= 2;
  return L;
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

__device__ __forceinline__ uint8_t e2m1_code(float w, bool even) {
  float c = w;
  if (c < -6.0f) c = -6.0f;
  if (c > 6.0f) c = 6.0f;
  const float a = c < 0.0f ? -c : c;
  int idx;
  if (!even)
    idx = (a >= 0.25f) + (a >= 0.75f) + (a >= 1.25f) + (a >= 1.75f) + (a >= 2.5f) + (a >= 3.5f) + (a >= 5.0f);
  else
    idx = (a > 0.25f) + (a >= 0.75f) + (a > 1.25f) + (a >= 1.75f) + (a > 2.5f) + (a >= 3.5f) + (a > 5.0f);
  return static_cast<uint8_t>((c < 0.0f ? 0x8 : 0x0) | idx);
}

// One thread per two 16-element groups: four independent 16-byte loads in flight (BF16/FP16),
// then 16 bytes of codes and two scale bytes stored at once. The CPU tile knobs (row_tile,
// block_k) are bit-invariant and do not shape this launch.
__global__ void nvfp4_stage_kernel(StageArgs a) {
  const int64_t per_row = a.K / 32;
  const int64_t g = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (g >= a.M * per_row) return;
  const int64_t m = g / per_row, k = (g % per_row) * 32;
  const bool even = a.ties_even || a.broken_ties;
  float v[32];
  for (int q = 0; q < 4; ++q) widen8(a.x, m * a.K + k + 8 * q, a.x_dtype, v + 8 * q);
  uint32_t words[4];
  uint8_t e[2];
  for (int h = 0; h < 2; ++h) {
    const float* vg = v + 16 * h;
    // Largest |bit pattern| of the group (NaN beats Inf), as the reference's nvfp4_amax.
    uint32_t ab = 0;
    for (int i = 0; i < 16; ++i) ab = max(ab, __float_as_uint(vg[i]) & 0x7FFFFFFFu);
    // tl.maximum(amax, 1e-4) as the reference writes it: a NaN amax stays, payload and all. The
    // comparison is on the bits: nvcc turns a float compare-and-select into FMNMX, which
    // returns the canonical NaN 0x7FFFFFFF and so a different scale byte.
    if (ab < 0x38D1B717u) ab = 0x38D1B717u;  // f32(1e-4)
    const float amax = __uint_as_float(ab);
    // A NaN amax (a NaN input: outside the kernel's contract, docs/kernels/nvfp4_quant.md) keeps its payload through the
    // division, as IEEE 754 recommends and x86 does; CUDA's division returns its canonical NaN,
    // whose bits would encode another scale byte than kcs's definition (0x78 instead of 0x7C).
    float scale = isnan(amax) ? __uint_as_float(__float_as_uint(amax) | 0x400000u) : __fdiv_rn(amax, 6.0f);
    if (a.saturate_scale && scale > 448.0f) scale = 448.0f;
    e[h] = e4m3_encode(scale);
    const float sh = e4m3_decode(e[h]);
    const float inv = __fdiv_rn(1.0f, sh < 1e-6f ? 1e-6f : sh);
    for (int w = 0; w < 2; ++w) {
      uint32_t word = 0;
      for (int i = 0; i < 8; ++i)
        word |= static_cast<uint32_t>(e2m1_code(__fmul_rn(vg[8 * w + i], inv), even)) << (4 * i);
      words[2 * h + w] = word;
    }
  }
  *reinterpret_cast<uint4*>(a.x_fp4 + m * (a.K / 2) + k / 2) = make_uint4(words[0], words[1], words[2], words[3]);
  *reinterpret_cast<uint16_t*>(a.x_sf + m * (a.K / 16) + k / 16) =
      static_cast<uint16_t>(e[0] | (static_cast<uint32_t>(e[1]) << 8));
  if (k == 0)
    for (int64_t j = 0; j < a.top_k; ++j) {
      const int64_t i = m * a.top_k + j;
      a.ids_out[i] = a.ids_i64 ? static_cast<const int64_t*>(a.ids)[i]
                               : static_cast<int64_t>(static_cast<const int32_t*>(a.ids)[i]);
      a.weights_out[i] = a.weights[i];
    }
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

}  // namespace kcs_cuda
