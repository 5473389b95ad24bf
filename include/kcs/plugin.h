/* kcs plug-in C ABI, version 1: how a backend in a shared library (CUDA, Triton, an NPU, a CPU
 * library) is validated by kcs without linking C++.
 *
 * Plain C99; usable from C and C++. A plug-in is a shared library exporting these symbols
 * (extern "C", default visibility):
 *
 *   uint32_t           kcs_plugin_abi_version(void);   required; must return KCS_PLUGIN_ABI_VERSION
 *   const char*        kcs_plugin_name(void);          required; [A-Za-z0-9_.-]+, not a built-in
 *                                                      backend name; used in results and repro lines
 *   const char* const* kcs_plugin_kernels(void);       required; NULL-terminated list of kernel ids
 *                                                      ("q8", "nvfp4_quant", ...). Ids this kcs does
 *                                                      not know are ignored (a newer plug-in).
 *   int32_t            kcs_plugin_run(const kcs_call* call, char* message, size_t message_size);
 *                                                      required; 0 = success, else a KCS_STATUS_*
 *                                                      code and a NUL-terminated message
 *   const char*        kcs_plugin_describe(void);      optional; one line for `kcs list` / reports
 *
 * kcs checks kcs_plugin_abi_version() first and refuses any other version (nothing else is
 * called then). Then every required symbol must resolve: a missing one is reported by name.
 *
 * One call = one kernel invocation. Before it, kcs has validated everything the kernel's
 * declaration says (dtypes, shapes, attribute values, data preconditions such as index ranges):
 * a plug-in never sees input that a correct backend must reject. Output tensors are poisoned
 * (every byte 0xA5) so that elements the plug-in forgets to write show as mismatches.
 *
 * Tensors: every tensor of the kernel's declaration (`kcs list KERNEL` prints them), by name.
 * Shapes and strides are in storage elements: a KCS_DTYPE_E2M1X2 tensor of K codes per row has a
 * last dimension K/2 (bytes, low nibble = even element); KCS_DTYPE_UE4M3X4 holds four scale bytes
 * per int32, little-endian. BF16 and FP16 are uint16 bit patterns. Strides are in elements (not
 * bytes); version 1 always passes dense row-major tensors, but a plug-in should read strides so
 * that a later minor revision may pass views. Role in tensors must not be written; inout tensors
 * are updated in place (caches: rows that no index names must stay untouched).
 *
 * Attributes are strings exactly as the declaration spells them ("rint", "1e-4", "bfloat16"),
 * every declared attribute present (defaults filled in). Knobs are the tile configuration chosen
 * for this call, every declared knob present: the plug-in must honour them (a row tile may never
 * change a bit of the result). threads is the number of threads the call may use.
 *
 * The call must be deterministic and must not keep pointers after it returns. kcs calls
 * kcs_plugin_run from one thread at a time.
 */
#ifndef KCS_PLUGIN_H_
#define KCS_PLUGIN_H_

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

#define KCS_PLUGIN_ABI_VERSION 1u

/* Logical element types (the numbering is part of the ABI). */
typedef enum kcs_dtype {
  KCS_DTYPE_BF16 = 0,     /* uint16 bit pattern */
  KCS_DTYPE_FP16 = 1,     /* uint16 bit pattern */
  KCS_DTYPE_FP32 = 2,
  KCS_DTYPE_FP64 = 3,
  KCS_DTYPE_I8 = 4,
  KCS_DTYPE_U8 = 5,
  KCS_DTYPE_I32 = 6,
  KCS_DTYPE_I64 = 7,
  KCS_DTYPE_E2M1X2 = 8,   /* uint8: two E2M1 codes, low nibble = even element */
  KCS_DTYPE_UE4M3X4 = 9   /* int32: four UE4M3 bytes, little-endian */
} kcs_dtype;

typedef enum kcs_role { KCS_ROLE_IN = 0, KCS_ROLE_OUT = 1, KCS_ROLE_INOUT = 2 } kcs_role;

/* Return codes of kcs_plugin_run. Every non-zero code makes the call an error in the results,
 * with the plug-in's message; the sweep goes on. */
typedef enum kcs_status {
  KCS_STATUS_OK = 0,
  KCS_STATUS_INVALID_ARGUMENT = 1, /* the plug-in refuses the call's shapes / dtypes / attributes */
  KCS_STATUS_UNSUPPORTED = 2,      /* a mode or dtype the plug-in does not implement */
  KCS_STATUS_INTERNAL = 3          /* device error, out of memory, ... */
} kcs_status;

typedef struct kcs_tensor {
  const char* name;       /* declaration name, e.g. "x", "codes" */
  int32_t dtype;          /* kcs_dtype */
  int32_t role;           /* kcs_role */
  int32_t rank;
  const int64_t* shape;   /* rank entries, storage elements */
  const int64_t* strides; /* rank entries, in storage elements */
  void* data;             /* 64-byte aligned; NULL when the tensor has no element */
} kcs_tensor;

typedef struct kcs_int_value {
  const char* name;
  int64_t value;
} kcs_int_value;

typedef struct kcs_str_value {
  const char* name;
  const char* value;
} kcs_str_value;

typedef struct kcs_call {
  uint32_t abi_version; /* KCS_PLUGIN_ABI_VERSION of the caller */
  uint32_t struct_size; /* sizeof(kcs_call) of the caller: fields may be appended in a minor revision */
  const char* kernel;   /* kernel id */
  const char* case_id;  /* catalog case id, for the plug-in's own logs ("" when unknown) */
  int32_t n_tensors;
  const kcs_tensor* tensors;
  int32_t n_dims; /* the problem's named dimensions ("rows", "n", "M", "K", ...) */
  const kcs_int_value* dims;
  int32_t n_attrs; /* every declared attribute, as strings */
  const kcs_str_value* attrs;
  int32_t n_knobs; /* every declared tile knob with the value chosen for this call */
  const kcs_int_value* knobs;
  int32_t threads;
} kcs_call;

/* Types of the exported functions, for loaders. */
typedef uint32_t (*kcs_plugin_abi_version_fn)(void);
typedef const char* (*kcs_plugin_name_fn)(void);
typedef const char* const* (*kcs_plugin_kernels_fn)(void);
typedef int32_t (*kcs_plugin_run_fn)(const kcs_call* call, char* message, size_t message_size);
typedef const char* (*kcs_plugin_describe_fn)(void);

/* Look-up helpers for plug-ins (NULL / fallback when absent). */
static inline const kcs_tensor* kcs_call_tensor(const kcs_call* c, const char* name) {
  int32_t i;
  for (i = 0; i < c->n_tensors; ++i)
    if (strcmp(c->tensors[i].name, name) == 0) return &c->tensors[i];
  return NULL;
}

static inline const char* kcs_call_attr(const kcs_call* c, const char* name, const char* fallback) {
  int32_t i;
  for (i = 0; i < c->n_attrs; ++i)
    if (strcmp(c->attrs[i].name, name) == 0) return c->attrs[i].value;
  return fallback;
}

static inline int64_t kcs_call_dim(const kcs_call* c, const char* name, int64_t fallback) {
  int32_t i;
  for (i = 0; i < c->n_dims; ++i)
    if (strcmp(c->dims[i].name, name) == 0) return c->dims[i].value;
  return fallback;
}

static inline int64_t kcs_call_knob(const kcs_call* c, const char* name, int64_t fallback) {
  int32_t i;
  for (i = 0; i < c->n_knobs; ++i)
    if (strcmp(c->knobs[i].name, name) == 0) return c->knobs[i].value;
  return fallback;
}

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* KCS_PLUGIN_H_ */
