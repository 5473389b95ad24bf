/* kcs host C API, version 1: any language (Python through ctypes, Rust, Go, C) asks kcs for a
 * kernel's cases, materialises a case's inputs and expected outputs, scores the outputs its own
 * implementation computed, and writes results that `kcs report` and the drift baseline read.
 * The plug-in ABI (kcs/plugin.h) is the other direction: kcs calling a backend.
 *
 * Plain C99, in libkcs.so. No exception crosses this interface: every call that can fail
 * returns a kcs_status, and kcs_last_error() gives the message of the last failure on this
 * thread (it names the thing at fault: "unknown case 'q8.nope'", "tensor 'scale': dtype float32,
 * expected float16"). Handles are not shared between threads while one of them uses them.
 *
 * Strings returned as `const char*` belong to the handle they come from (valid until it is
 * freed); strings returned through `char**` are the caller's, freed with kcs_free_string().
 * JSON strings are UTF-8 objects/arrays documented at each function.
 *
 * Tensors are dense row-major in kcs's storage encoding: BF16 and FP16 as uint16 bit patterns,
 * E2M1 as packed nibble pairs (last dimension K/2), UE4M3 block scales as four bytes per int32
 * (little-endian). Shapes and strides count storage elements, not bytes. The dtype names are
 * those of `kcs list` ("bfloat16", "float16", "float32", "float64", "int8", "uint8", "int32",
 * "int64", "e2m1x2_lo_first", "ue4m3x4_le").
 */
#ifndef KCS_KCS_H_
#define KCS_KCS_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define KCS_API_VERSION 1
#define KCS_MAX_RANK 8

#if defined(_WIN32)
#define KCS_API
#else
#define KCS_API __attribute__((visibility("default")))
#endif

typedef enum kcs_status {
  KCS_OK = 0,
  KCS_E_ARGUMENT = 1,   /* a NULL handle or pointer, an index out of range, a malformed argument */
  KCS_E_NOT_FOUND = 2,  /* unknown kernel, case, tier or tensor name */
  KCS_E_DATA = 3,       /* catalog, bundle or tensor problems (names the file / tensor at fault) */
  KCS_E_INTERNAL = 4    /* anything else, including out of memory */
} kcs_status;

typedef enum kcs_role { KCS_ROLE_IN = 0, KCS_ROLE_OUT = 1, KCS_ROLE_INOUT = 2 } kcs_role;

/* Which tensors of a case: the call's inputs (role in, and inout tensors before the call) or the
 * expected results (role out, and inout tensors after the call). */
typedef enum kcs_which { KCS_INPUTS = 0, KCS_EXPECTED = 1 } kcs_which;

typedef struct kcs_tensor {
  const char* name;   /* as the declaration names it */
  const char* dtype;  /* dtype name (see above) */
  int32_t role;       /* kcs_role */
  int32_t rank;
  int64_t shape[KCS_MAX_RANK];
  int64_t strides[KCS_MAX_RANK]; /* in elements; kcs hands out dense row-major, accepts any */
  const void* data;
  uint64_t nbytes;    /* of the dense tensor */
} kcs_tensor;

typedef struct kcs_check {
  const char* name;      /* output name, "<inout>.untouched" or "invariant:<name>" */
  const char* contract;  /* "exact", "max_ulp(1)", ... */
  int32_t passed;
  double margin;         /* observed / allowed for the binding limit (<= 1 passes) */
  const char* message;   /* on failure: what broke, naming the worst element */
  int64_t numel, mismatches, max_ulp;
  double max_abs, max_rel;
} kcs_check;

typedef struct kcs_case kcs_case;
typedef struct kcs_score kcs_score;
typedef struct kcs_results kcs_results;

KCS_API int32_t kcs_api_version(void);  /* KCS_API_VERSION */
KCS_API const char* kcs_version(void);  /* "0.1.0" */
KCS_API const char* kcs_last_error(void);
KCS_API void kcs_free_string(char* s);

/* Where catalogs and committed bundles are read from: {"catalog": DIR, "bundles": DIR}. An
 * installed libkcs finds <prefix>/share/kcs without environment variables. */
KCS_API kcs_status kcs_data_dirs_json(char** out);
/* [{"id", "title", "spec"}] in the registry's order. */
KCS_API kcs_status kcs_kernels_json(char** out);
/* {"id", "title", "spec", "dims": [{name, doc, min}], "attrs": [{name, kind, default, choices, doc}],
 *  "tensors": [{name, role, dtype, dtype_attr, shape, contract, doc, weight}], "knobs": [{name, default,
 *  bit_invariant, doc}], "invariants": [{name, doc}], "tiles": [catalog tile names]} */
KCS_API kcs_status kcs_declaration_json(const char* kernel, char** out);
/* Cases of `tier` ("smoke" | "ci" | "nightly", each including the ones before) whose id matches
 * `pattern` ('*' wildcards; NULL or "" = all): [{"id", "tier", "scenario", "seed", "dims",
 * "attrs", "expect_error"}]. */
KCS_API kcs_status kcs_cases_json(const char* kernel, const char* tier, const char* pattern, char** out);

/* A case by id ("q8.random.rows=4.n=17"): its committed bundle when one exists, else the inputs
 * generated and the expected outputs computed by the reference backend, as `kcs run` does. */
KCS_API kcs_status kcs_case_open(const char* case_id, kcs_case** out);
KCS_API void kcs_case_free(kcs_case* c);
/* {"id", "kernel", "tier", "scenario", "seed", "dims", "attrs", "expect_error", "tiles"} */
KCS_API kcs_status kcs_case_info_json(const kcs_case* c, char** out);
KCS_API int32_t kcs_case_tensor_count(const kcs_case* c, int32_t which);
/* The i-th tensor of `which` (declaration order). Data stay owned by the case. For a case that
 * expects an error (expect_error in its info) there are no expected tensors. */
KCS_API kcs_status kcs_case_tensor(const kcs_case* c, int32_t which, int32_t i, kcs_tensor* out);

/* Scores the outputs an implementation computed: `actual` holds every out tensor and the full
 * after-state of every inout tensor, by name (any order, any strides, the declared dtype and
 * shape). `backend` names the implementation in results; `tile` is the tile configuration it
 * honoured ("row_tile=16" or NULL = "default"); `repro` is the command that reruns this one
 * case (NULL: none known); `seconds` the call's time or 0. A failed check is a verdict, not an
 * error: the status is KCS_OK and kcs_score_verdict() says "failed". For a case that expects an
 * error, handing in outputs scores as failed ("accepted an input that must be rejected"). */
KCS_API kcs_status kcs_case_score(const kcs_case* c, const kcs_tensor* actual, int32_t n, const char* backend,
                                  const char* tile, const char* repro, double seconds, kcs_score** out);
/* The implementation refused the call (raised, returned an error) with `message`. Passes for a
 * case that expects an error whose text the message contains; otherwise verdict "error". */
KCS_API kcs_status kcs_case_score_rejection(const kcs_case* c, const char* message, const char* backend,
                                            const char* tile, const char* repro, kcs_score** out);
KCS_API void kcs_score_free(kcs_score* s);
/* "passed" | "failed" | "error" | "outside_contract_differs": the case lies outside the kernel's
 * contract (kcs_case_info_json's "outside_contract" says why) and the outputs differ from the
 * reference there only: neither a pass nor a failure (docs/results.md). */
KCS_API const char* kcs_score_verdict(const kcs_score* s);
KCS_API const char* kcs_score_reason(const kcs_score* s);   /* first failed check, the error, or how it differs */
KCS_API const char* kcs_score_repro(const kcs_score* s);
/* kcs's own multi-line report of a run: every failed check with its contract, margin, message
 * (diagnosis included) and worst elements, then the repro line. */
KCS_API const char* kcs_score_text(const kcs_score* s);
KCS_API int32_t kcs_score_check_count(const kcs_score* s);
KCS_API kcs_status kcs_score_check(const kcs_score* s, int32_t i, kcs_check* out);
/* The run and its checks as the results file holds them: {"run": {...}, "results": [{...,
 * "metrics": {..., "worst": [{index, expected, actual, abs_err, ulp}]}}]} */
KCS_API kcs_status kcs_score_json(const kcs_score* s, char** out);

/* A results file in the format `kcs run --results` writes. */
KCS_API kcs_status kcs_results_new(const char* tier, const char* command, kcs_results** out);
KCS_API void kcs_results_free(kcs_results* r);
KCS_API kcs_status kcs_results_add(kcs_results* r, const kcs_score* s);
KCS_API int32_t kcs_results_count(const kcs_results* r);
KCS_API kcs_status kcs_results_write(const kcs_results* r, const char* path);
/* index.html and summary.md in `dir`, as `kcs report --out DIR` writes them. */
KCS_API kcs_status kcs_results_write_report(const kcs_results* r, const char* dir);

/* Running kcs's own backends with a kernel's weights prepared once (docs/plans.md): open a
 * backend, prepare a plan with the weights (the tensors whose "weight" is true in
 * kcs_declaration_json), run it on many calls, free it.
 *
 *   kcs_backend* be;  kcs_plan* plan;
 *   kcs_backend_open("optimized", &be);
 *   kcs_plan_prepare(be, "gemm_bf16", "{\"dims\": {\"B\": 1, \"M\": 4, \"K\": 64, \"N\": 32}}", w, 1, 1, &plan);
 *   kcs_plan_run(plan, "{\"M\": 1}", io, 2, NULL, 1);   // io: a (input), y (output); any M
 *   kcs_plan_free(plan);  kcs_backend_free(be);
 *
 * Every call is checked as kcs's own runs are (dtypes, shapes, attributes, data preconditions);
 * a refused call returns KCS_E_DATA with the problem named in kcs_last_error() and writes nothing. */
typedef struct kcs_backend kcs_backend;
typedef struct kcs_plan kcs_plan;

/* "reference", "avx512", "avx2" or "optimized" (the best this CPU runs); `kcs list` names them.
 * A backend this CPU cannot run opens, and refuses every prepare saying why. */
KCS_API kcs_status kcs_backend_open(const char* name, kcs_backend** out);
/* After every plan prepared on it has been freed. */
KCS_API void kcs_backend_free(kcs_backend* b);

/* `problem_json`: {"dims": {name: int}, "attrs": {name: value}} (attrs left out take their
 * declared defaults; other keys are ignored, so kcs_case_info_json's text serves). `weights`:
 * exactly the kernel's weight tensors, by name, in the declared dtype and shape, any strides.
 * The plan keeps its own copy (or packed form) of them: the caller may change or free its
 * weights as soon as this returns, and the plan's calls compute with the weights as they were
 * here (to change weights, prepare another plan). `threads` (>= 1) may be used to prepare. */
KCS_API kcs_status kcs_plan_prepare(kcs_backend* b, const char* kernel, const char* problem_json,
                                    const kcs_tensor* weights, int32_t n, int32_t threads, kcs_plan** out);
/* One call: `tensors` holds every tensor of the declaration but the weights, by name. Inputs
 * may have any strides; out and inout tensors must be dense row-major, and the call writes them
 * in place through their `data` pointer (which must be writable memory). `dims_json`:
 * {name: int} for the dimensions that differ from the prepared ones (NULL = none); only those
 * that no weight's shape uses may change, and the attributes are the plan's. `tile`:
 * "knob=value,..." (NULL or "default" = the declared defaults); `threads` >= 1. A call gives
 * the bits of an unplanned run of the same backend on the same tensors. One call at a time per
 * plan. */
KCS_API kcs_status kcs_plan_run(kcs_plan* p, const char* dims_json, const kcs_tensor* tensors, int32_t n,
                                const char* tile, int32_t threads);
KCS_API void kcs_plan_free(kcs_plan* p);

#ifdef __cplusplus
}
#endif

#endif /* KCS_KCS_H_ */
