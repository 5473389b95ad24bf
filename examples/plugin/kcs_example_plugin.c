/* A kcs backend in plain C, loaded through the plug-in ABI (include/kcs/plugin.h):
 *   q8           docs/kernels/q8.md           Q8 symmetric per-row INT8 quantizer
 *   nvfp4_quant  docs/kernels/nvfp4_quant.md  NVFP4 coder: E2M1 codes + UE4M3 scales per 16 elements
 *   nvfp4_stage  docs/kernels/nvfp4_stage.md  K4 staging kernel: nvfp4_quant + the top-k copy (listed for kcs
 *                            builds that declare it; an older kcs ignores the id)
 * Written from the kernel definitions (docs/kernels/), sharing no code with kcs (only the ABI header). Every step is binary32
 * as the definition writes it, one rounding per operation: build with -ffp-contract=off (no FMA) and
 * without -ffast-math. Single-threaded; honours the row_tile / block_k knobs by looping over the
 * tiles they describe (results do not depend on them, as the definitions require).
 *
 *   cc -std=c99 -O2 -fPIC -shared -ffp-contract=off -I include examples/plugin/kcs_example_plugin.c -o libkcs_example.so -lm
 *   kcs run --backend-lib ./libkcs_example.so --kernel q8 --tier ci
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "kcs/plugin.h"

#if defined(__GNUC__)
#define KCS_EXPORT __attribute__((visibility("default")))
#else
#define KCS_EXPORT
#endif

/* ---- scalar formats --------------------------------------------------------------------- */

static uint32_t f32_bits(float f) {
  uint32_t u;
  memcpy(&u, &f, 4);
  return u;
}

static float f32_from_bits(uint32_t u) {
  float f;
  memcpy(&f, &u, 4);
  return f;
}

static float bf16_to_f32(uint16_t h) { return f32_from_bits((uint32_t)h << 16); }

static float fp16_to_f32(uint16_t h) {
  const uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
  const uint32_t e = (h >> 10) & 0x1Fu, m = h & 0x3FFu;
  if (e == 0x1F) return f32_from_bits(sign | 0x7F800000u | (m << 13));
  if (e != 0) return f32_from_bits(sign | ((e + 112u) << 23) | (m << 13));
  /* zero or subnormal: m * 2^-24, exact in binary32 */
  return f32_from_bits(sign) + (sign ? -1.0f : 1.0f) * (float)m * 5.9604644775390625e-8f;
}

/* binary32 -> binary16, nearest-even, subnormals kept, overflow to Inf, NaN -> sign|0x7E00. */
static uint16_t fp16_from_f32(float f) {
  const uint32_t u = f32_bits(f);
  const uint16_t sign = (uint16_t)((u >> 16) & 0x8000u);
  const uint32_t a = u & 0x7FFFFFFFu;
  if (a > 0x7F800000u) return (uint16_t)(sign | 0x7E00u);
  if (a >= 0x477FF000u) return (uint16_t)(sign | 0x7C00u); /* >= 65520 rounds to Inf */
  if (a >= 0x38800000u) {                                 /* normal binary16 */
    const uint32_t r = a + 0xFFFu + ((a >> 13) & 1u);
    return (uint16_t)(sign | ((r - (112u << 23)) >> 13));
  }
  if (a <= 0x33000000u) return sign; /* <= 2^-25: rounds to zero (the tie goes to even 0) */
  {
    const uint32_t m = (a & 0x7FFFFFu) | 0x800000u;
    const int s = 126 - (int)(a >> 23); /* 14..24: quantum 2^-24 */
    uint32_t q = m >> s;
    const uint32_t rem = m & ((1u << s) - 1u), half = 1u << (s - 1);
    if (rem > half || (rem == half && (q & 1u))) ++q;
    return (uint16_t)(sign | q);
  }
}

/* One element of a float-typed input as binary32 (exact widening). */
static float load_f32(const kcs_tensor* t, int64_t off) {
  switch (t->dtype) {
    case KCS_DTYPE_BF16: return bf16_to_f32(((const uint16_t*)t->data)[off]);
    case KCS_DTYPE_FP16: return fp16_to_f32(((const uint16_t*)t->data)[off]);
    default: return ((const float*)t->data)[off];
  }
}

/* ---- call helpers -------------------------------------------------------------------------- */

static int32_t fail(char* msg, size_t size, int32_t code, const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, size, fmt, ap);
  va_end(ap);
  return code;
}

/* A rank-2 tensor of the call, or NULL (the message names what is wrong). */
static const kcs_tensor* need2(const kcs_call* c, const char* name, char* msg, size_t size) {
  const kcs_tensor* t = kcs_call_tensor(c, name);
  if (!t) {
    fail(msg, size, KCS_STATUS_INVALID_ARGUMENT, "%s: no tensor '%s' in the call", c->kernel, name);
    return NULL;
  }
  if (t->rank != 2) {
    fail(msg, size, KCS_STATUS_INVALID_ARGUMENT, "%s: tensor '%s' has rank %d, want 2", c->kernel, name, t->rank);
    return NULL;
  }
  return t;
}

#define AT(t, r, j) ((r) * (t)->strides[0] + (j) * (t)->strides[1])

/* ---- Q8 (docs/kernels/q8.md) ----------------------------------------------------------------- */

static int8_t q8_code(float y, int rhaz) {
  float r;
  if (y != y) return 0; /* NaN y (out-of-contract rows): code 0 */
  r = rhaz ? roundf(y) : nearbyintf(y); /* default rounding mode: nearest-even */
  /* int32 -> fp16 -> trunc -> sat8 is exact for |r| <= 2048 and saturates beyond 127 anyway */
  if (r >= 127.0f) return 127;
  if (r <= -128.0f) return -128;
  return (int8_t)r;
}

static int32_t run_q8(const kcs_call* c, char* msg, size_t size) {
  const kcs_tensor *x, *codes, *scale;
  const int rhaz = strcmp(kcs_call_attr(c, "round_mode", "rint"), "rhaz") == 0;
  const int floor = strcmp(kcs_call_attr(c, "amax_floor", "none"), "1e-4") == 0;
  int64_t rows, n, tile, r0, r, j;
  if (!(x = need2(c, "x", msg, size)) || !(codes = need2(c, "codes", msg, size)) ||
      !(scale = need2(c, "scale", msg, size)))
    return KCS_STATUS_INVALID_ARGUMENT;
  if (x->dtype != KCS_DTYPE_BF16 && x->dtype != KCS_DTYPE_FP32)
    return fail(msg, size, KCS_STATUS_UNSUPPORTED, "q8: x dtype %d is not bfloat16/float32", x->dtype);
  rows = x->shape[0];
  n = x->shape[1];
  tile = kcs_call_knob(c, "row_tile", 16);
  if (tile <= 0) tile = rows > 0 ? rows : 1;
  for (r0 = 0; r0 < rows; r0 += tile) {
    const int64_t r1 = r0 + tile < rows ? r0 + tile : rows;
    for (r = r0; r < r1; ++r) {
      uint32_t best = 0;
      float a, s_q, s_dq;
      for (j = 0; j < n; ++j) { /* amax by |bit pattern|: NaN > Inf > finite; exact */
        const uint32_t b = f32_bits(load_f32(x, AT(x, r, j))) & 0x7FFFFFFFu;
        if (b > best) best = b;
      }
      a = f32_from_bits(best);
      if (floor && !(a >= 1e-4f) && a == a) a = 1e-4f;
      if (a == 0.0f) { /* kcs definition for zero rows: codes 0, scale +0 */
        for (j = 0; j < n; ++j) ((int8_t*)codes->data)[AT(codes, r, j)] = 0;
        s_dq = 0.0f;
      } else {
        s_q = 127.0f / a;
        for (j = 0; j < n; ++j) {
          const float y = load_f32(x, AT(x, r, j)) * s_q;
          ((int8_t*)codes->data)[AT(codes, r, j)] = q8_code(y, rhaz);
        }
        s_dq = 1.0f / s_q; /* the two-step form, not a / 127 */
      }
      if (scale->dtype == KCS_DTYPE_FP16)
        ((uint16_t*)scale->data)[AT(scale, r, 0)] = fp16_from_f32(s_dq);
      else
        ((float*)scale->data)[AT(scale, r, 0)] = s_dq;
    }
  }
  return KCS_STATUS_OK;
}

/* ---- NVFP4 coder (docs/kernels/nvfp4_quant.md) ----------------------------------------------- */

/* Step 3: the staging kernel's E4M3 encode (custom bit arithmetic, exponent clamped, mantissa
 * not saturated). Shifts of 32 or more give 0. */
static uint32_t shr(uint32_t x, int s) { return s >= 32 ? 0u : x >> s; }

static uint8_t e4m3_encode(float scale) {
  const uint32_t bits = f32_bits(scale);
  const int32_t e = (int32_t)((bits >> 23) & 0xFFu);
  const uint32_t f = bits & 0x7FFFFFu;
  const int32_t er = e - 120;
  uint32_t m, guard, sticky;
  int32_t exp;
  if (er >= 1) {
    m = f >> 20;
    guard = (f >> 19) & 1u;
    sticky = (f & 0x7FFFFu) != 0;
    exp = er;
  } else {
    const int sh = 1 - er;
    const uint32_t mw = 0x800000u | f;
    m = shr(mw, sh + 20) & 7u;
    guard = shr(mw, sh + 19) & 1u;
    sticky = (sh + 19 >= 32 ? mw : (mw & ((1u << (sh + 19)) - 1u))) != 0;
    exp = 0;
  }
  m += guard & (sticky | (m & 1u));
  if (m >= 8) {
    m = 0;
    exp += 1;
  }
  if (exp > 15) exp = 15;
  return (uint8_t)((exp << 3) | (int32_t)m);
}

/* Step 4: decode; 0x7F is 480, not NaN. */
static float e4m3_decode(uint8_t code) {
  const int32_t exp = (code >> 3) & 0xF, mant = code & 7;
  if (exp == 0) return ((float)mant / 8.0f) * 0.015625f;
  return (1.0f + (float)mant / 8.0f) * f32_from_bits((uint32_t)(exp - 7 + 127) << 23);
}

/* Steps 5 (clamp) and 6. A NaN w stays NaN through the clamp and gets code 0. */
static uint8_t e2m1_code(float w, int ties_even) {
  float c = w, a;
  uint8_t idx;
  if (c < -6.0f) c = -6.0f;
  if (c > 6.0f) c = 6.0f;
  a = c < 0.0f ? -c : c;
  if (!ties_even)
    idx = (uint8_t)((a >= 0.25f) + (a >= 0.75f) + (a >= 1.25f) + (a >= 1.75f) + (a >= 2.5f) + (a >= 3.5f) +
                    (a >= 5.0f));
  else
    idx = (uint8_t)((a > 0.25f) + (a >= 0.75f) + (a > 1.25f) + (a >= 1.75f) + (a > 2.5f) + (a >= 3.5f) + (a > 5.0f));
  return (uint8_t)((c < 0.0f ? 0x8 : 0) | idx);
}

/* One 128-element block of row r starting at element k0: 64 code bytes and 2 scale words. */
static void nvfp4_block(const kcs_tensor* x, const kcs_tensor* fp4, const kcs_tensor* sf, int64_t r, int64_t k0,
                        int ties_even, int saturate) {
  uint8_t e[8];
  int g, j;
  for (g = 0; g < 8; ++g) {
    float v[16], amax, scale, inv, s_hat;
    uint32_t best = 0;
    for (j = 0; j < 16; ++j) {
      v[j] = load_f32(x, AT(x, r, k0 + 16 * g + j));
      if ((f32_bits(v[j]) & 0x7FFFFFFFu) > best) best = f32_bits(v[j]) & 0x7FFFFFFFu;
    }
    amax = f32_from_bits(best);
    if (amax < 1e-4f) amax = 1e-4f;
    scale = amax / 6.0f;
    if (saturate && scale > 448.0f) scale = 448.0f;
    e[g] = e4m3_encode(scale);
    s_hat = e4m3_decode(e[g]);
    inv = 1.0f / (s_hat < 1e-6f ? 1e-6f : s_hat);
    for (j = 0; j < 16; j += 2) {
      const uint8_t lo = e2m1_code(v[j] * inv, ties_even), hi = e2m1_code(v[j + 1] * inv, ties_even);
      ((uint8_t*)fp4->data)[AT(fp4, r, (k0 + 16 * g + j) / 2)] = (uint8_t)(lo | (hi << 4));
    }
  }
  for (g = 0; g < 2; ++g) {
    const uint32_t w = (uint32_t)e[4 * g] | (uint32_t)e[4 * g + 1] << 8 | (uint32_t)e[4 * g + 2] << 16 |
                       (uint32_t)e[4 * g + 3] << 24;
    ((int32_t*)sf->data)[AT(sf, r, k0 / 64 + g)] = (int32_t)w;
  }
}

/* x -> x_fp4, x_sf over the row and K tiles the knobs describe. */
static int32_t nvfp4_code_tensor(const kcs_call* c, const kcs_tensor* x, const kcs_tensor* fp4,
                                 const kcs_tensor* sf, char* msg, size_t size) {
  const int ties_even = strcmp(kcs_call_attr(c, "e2m1_ties", "away"), "even") == 0;
  const int saturate = strcmp(kcs_call_attr(c, "saturate_scale", "0"), "1") == 0;
  const int64_t m = x->shape[0], k = x->shape[1];
  int64_t row_tile = kcs_call_knob(c, "row_tile", 16), block_k = kcs_call_knob(c, "block_k", 0), r0, k0, r, kb;
  if (x->dtype != KCS_DTYPE_BF16 && x->dtype != KCS_DTYPE_FP16 && x->dtype != KCS_DTYPE_FP32)
    return fail(msg, size, KCS_STATUS_UNSUPPORTED, "%s: input dtype %d is not bfloat16/float16/float32", c->kernel,
                x->dtype);
  if (k % 128 != 0) return fail(msg, size, KCS_STATUS_INVALID_ARGUMENT, "%s: K = %lld is not a multiple of 128",
                                c->kernel, (long long)k);
  if (row_tile <= 0) row_tile = m > 0 ? m : 1;
  if (block_k <= 0) block_k = k > 0 ? k : 128;
  if (block_k % 128 != 0)
    return fail(msg, size, KCS_STATUS_INVALID_ARGUMENT, "%s: block_k = %lld is not a multiple of 128", c->kernel,
                (long long)block_k);
  for (r0 = 0; r0 < m; r0 += row_tile)
    for (k0 = 0; k0 < k; k0 += block_k)
      for (r = r0; r < r0 + row_tile && r < m; ++r)
        for (kb = k0; kb < k0 + block_k && kb < k; kb += 128) nvfp4_block(x, fp4, sf, r, kb, ties_even, saturate);
  return KCS_STATUS_OK;
}

static int32_t run_nvfp4_quant(const kcs_call* c, char* msg, size_t size) {
  const kcs_tensor *x, *fp4, *sf;
  if (!(x = need2(c, "x", msg, size)) || !(fp4 = need2(c, "x_fp4", msg, size)) || !(sf = need2(c, "x_sf", msg, size)))
    return KCS_STATUS_INVALID_ARGUMENT;
  return nvfp4_code_tensor(c, x, fp4, sf, msg, size);
}

/* K4 (docs/kernels/nvfp4_stage.md): the coder on hidden_states, plus top-k ids widened to int64 and the weights
 * copied. Tensor names follow the declaration (kcs explain nvfp4_stage). */
static int32_t run_nvfp4_stage(const kcs_call* c, char* msg, size_t size) {
  const kcs_tensor *x, *fp4, *sf, *ids, *w, *ids_out, *w_out;
  int64_t m, r, j, top_k;
  int32_t rc;
  if (!(x = need2(c, "hidden_states", msg, size)) || !(fp4 = need2(c, "x_fp4", msg, size)) ||
      !(sf = need2(c, "x_sf", msg, size)) || !(ids = need2(c, "topk_ids", msg, size)) ||
      !(w = need2(c, "topk_weights", msg, size)) || !(ids_out = need2(c, "topk_idx_out", msg, size)) ||
      !(w_out = need2(c, "topk_weights_out", msg, size)))
    return KCS_STATUS_INVALID_ARGUMENT;
  m = x->shape[0];
  if (m == 0) return KCS_STATUS_OK; /* M == 0 writes nothing (docs/kernels/nvfp4_stage.md) */
  if (ids->dtype != KCS_DTYPE_I32 && ids->dtype != KCS_DTYPE_I64)
    return fail(msg, size, KCS_STATUS_UNSUPPORTED, "nvfp4_stage: topk_ids dtype %d is not int32/int64", ids->dtype);
  if (w->dtype != w_out->dtype)
    return fail(msg, size, KCS_STATUS_UNSUPPORTED, "nvfp4_stage: topk_weights dtype %d -> %d is not a copy", w->dtype,
                w_out->dtype);
  rc = nvfp4_code_tensor(c, x, fp4, sf, msg, size);
  if (rc != KCS_STATUS_OK) return rc;
  top_k = ids->shape[1];
  for (r = 0; r < m; ++r)
    for (j = 0; j < top_k; ++j) {
      const int64_t id = ids->dtype == KCS_DTYPE_I32 ? (int64_t)((const int32_t*)ids->data)[AT(ids, r, j)]
                                                     : ((const int64_t*)ids->data)[AT(ids, r, j)];
      const size_t es = w->dtype == KCS_DTYPE_FP64 || w->dtype == KCS_DTYPE_I64   ? 8
                        : w->dtype == KCS_DTYPE_BF16 || w->dtype == KCS_DTYPE_FP16 ? 2
                                                                                   : 4;
      ((int64_t*)ids_out->data)[AT(ids_out, r, j)] = id;
      memcpy((char*)w_out->data + (size_t)AT(w_out, r, j) * es, (const char*)w->data + (size_t)AT(w, r, j) * es, es);
    }
  return KCS_STATUS_OK;
}

/* ---- the ABI ------------------------------------------------------------------------------ */

KCS_EXPORT uint32_t kcs_plugin_abi_version(void) { return KCS_PLUGIN_ABI_VERSION; }

KCS_EXPORT const char* kcs_plugin_name(void) { return "c_example"; }

KCS_EXPORT const char* kcs_plugin_describe(void) {
  return "worked example in plain C: q8, nvfp4_quant, nvfp4_stage written from docs/kernels/";
}

KCS_EXPORT const char* const* kcs_plugin_kernels(void) {
  static const char* const k[] = {"q8", "nvfp4_quant", "nvfp4_stage", NULL};
  return k;
}

KCS_EXPORT int32_t kcs_plugin_run(const kcs_call* c, char* msg, size_t size) {
  if (c->abi_version != KCS_PLUGIN_ABI_VERSION)
    return fail(msg, size, KCS_STATUS_INVALID_ARGUMENT, "caller speaks ABI %u", c->abi_version);
  if (strcmp(c->kernel, "q8") == 0) return run_q8(c, msg, size);
  if (strcmp(c->kernel, "nvfp4_quant") == 0) return run_nvfp4_quant(c, msg, size);
  if (strcmp(c->kernel, "nvfp4_stage") == 0) return run_nvfp4_stage(c, msg, size);
  return fail(msg, size, KCS_STATUS_UNSUPPORTED, "c_example does not implement kernel %s", c->kernel);
}
