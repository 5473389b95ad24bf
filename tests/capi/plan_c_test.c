/* The plan API of the host C API (kcs/kcs.h, docs/plans.md) from C, on gemm_bf16 (weight w):
 *  - a plan's outputs are scored by the case's contract (must pass) and repeat bit for bit;
 *  - the plan keeps the weights it was prepared with: the caller's w overwritten after prepare
 *    changes nothing, while a plan prepared with the overwritten w computes with it;
 *  - a call may change M (no weight uses it): its row 0 is the full call's row 0;
 *  - refused calls (a weight's dimension changed, a weight passed to run, a non-weight passed to
 *    prepare, an unknown backend) return a status and a message naming the problem, and write
 *    nothing.
 * Usage: plan_c_test [BACKEND]   (default "optimized") */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kcs/kcs.h"

static int failures = 0;
#define EXPECT(cond, ...)                                   \
  do {                                                      \
    if (!(cond)) {                                          \
      fprintf(stderr, "%s:%d: FAILED %s: ", __FILE__, __LINE__, #cond); \
      fprintf(stderr, __VA_ARGS__);                         \
      fprintf(stderr, "\n");                                \
      ++failures;                                           \
    }                                                       \
  } while (0)
#define MUST(call)                                                            \
  do {                                                                        \
    if ((call) != KCS_OK) {                                                   \
      fprintf(stderr, "%s:%d: %s: %s\n", __FILE__, __LINE__, #call, kcs_last_error()); \
      return 1;                                                               \
    }                                                                         \
  } while (0)

/* A dense copy of a case tensor (the case's data are read-only), renamed views share storage. */
static kcs_tensor copy_of(const kcs_tensor* t) {
  kcs_tensor c = *t;
  void* p = malloc(t->nbytes ? t->nbytes : 1);
  if (t->nbytes) memcpy(p, t->data, t->nbytes);
  c.data = p;
  return c;
}

static int find_tensor(const kcs_case* c, int which, const char* name, kcs_tensor* out) {
  for (int32_t i = 0; i < kcs_case_tensor_count(c, which); ++i) {
    if (kcs_case_tensor(c, which, i, out) != KCS_OK) return 0;
    if (strcmp(out->name, name) == 0) return 1;
  }
  return 0;
}

static int contains(const char* s, const char* part) { return s && strstr(s, part) != NULL; }

int main(int argc, char** argv) {
  const char* backend = argc > 1 ? argv[1] : "optimized";
  char* list = NULL;
  MUST(kcs_cases_json("gemm_bf16", "smoke", "gemm_bf16.batched*", &list));
  const char* at = strstr(list, "\"id\":\"");
  if (!at) {
    fprintf(stderr, "no gemm_bf16.batched smoke case in %s\n", list);
    return 1;
  }
  char id[256] = {0};
  at += 6;
  size_t n = strcspn(at, "\"");
  if (n >= sizeof id) n = sizeof id - 1;
  memcpy(id, at, n);
  kcs_free_string(list);

  kcs_case* c = NULL;
  MUST(kcs_case_open(id, &c));
  char* info = NULL;
  MUST(kcs_case_info_json(c, &info));
  kcs_tensor a, w, y_expected;
  if (!find_tensor(c, KCS_INPUTS, "a", &a) || !find_tensor(c, KCS_INPUTS, "w", &w) ||
      !find_tensor(c, KCS_EXPECTED, "y", &y_expected)) {
    fprintf(stderr, "%s: a, w or y missing\n", id);
    return 1;
  }
  const int64_t B = a.shape[0], M = a.shape[1];
  kcs_tensor w_mine = copy_of(&w);  /* the caller's weights, changed after prepare below */
  kcs_tensor y = copy_of(&y_expected), y2 = copy_of(&y_expected), y3 = copy_of(&y_expected);
  y.role = y2.role = y3.role = KCS_ROLE_OUT;

  kcs_backend* be = NULL;
  MUST(kcs_backend_open(backend, &be));
  kcs_plan* plan = NULL;
  MUST(kcs_plan_prepare(be, "gemm_bf16", info, &w_mine, 1, 1, &plan));

  /* Scored by the case's contract, then repeated bit for bit (2 threads). */
  kcs_tensor io[2] = {a, y};
  memset((void*)y.data, 0xA5, y.nbytes);
  MUST(kcs_plan_run(plan, NULL, io, 2, NULL, 1));
  kcs_score* s = NULL;
  MUST(kcs_case_score(c, &y, 1, backend, NULL, NULL, 0, &s));
  EXPECT(strcmp(kcs_score_verdict(s), "passed") == 0, "%s", kcs_score_text(s));
  kcs_score_free(s);
  io[1] = y2;
  memset((void*)y2.data, 0x5A, y2.nbytes);
  MUST(kcs_plan_run(plan, NULL, io, 2, NULL, 2));
  EXPECT(memcmp(y.data, y2.data, y.nbytes) == 0, "a second call differs from the first");

  /* The caller's weights changed after prepare: the plan computes with the prepared ones. */
  memset((void*)w_mine.data, 0, w_mine.nbytes);
  memset((void*)y2.data, 0x5A, y2.nbytes);
  MUST(kcs_plan_run(plan, NULL, io, 2, NULL, 1));
  EXPECT(memcmp(y.data, y2.data, y.nbytes) == 0,
         "the plan read the caller's weights after prepare (docs/plans.md: it keeps its own copy)");
  /* ... and a plan prepared with the new (zero) weights computes with them: y = +0. */
  kcs_plan* zero = NULL;
  MUST(kcs_plan_prepare(be, "gemm_bf16", info, &w_mine, 1, 1, &zero));
  io[1] = y3;
  memset((void*)y3.data, 0x5A, y3.nbytes);
  MUST(kcs_plan_run(zero, NULL, io, 2, NULL, 1));
  int all_zero = 1;
  for (uint64_t k = 0; k < y3.nbytes; ++k) all_zero &= ((const unsigned char*)y3.data)[k] == 0;
  EXPECT(all_zero, "a plan prepared with zero weights gave a nonzero output");
  EXPECT(memcmp(y.data, y3.data, y.nbytes) != 0, "the case's outputs are all zero: the weight checks prove nothing");
  kcs_plan_free(zero);

  /* M = 1 (no weight uses M): every batch's row 0 is the full call's. */
  if (M >= 2) {
    kcs_tensor a1 = copy_of(&a), y1 = copy_of(&y);
    a1.shape[1] = 1;
    y1.shape[1] = 1;
    const int64_t ar = a.shape[2], yr = y.shape[2];  /* row lengths */
    const size_t ae = a.nbytes / (size_t)(B * M * ar), ye = y.nbytes / (size_t)(B * M * yr);
    for (int64_t b = 0; b < B; ++b)
      memcpy((char*)a1.data + (size_t)(b * ar) * ae, (const char*)a.data + (size_t)(b * M * ar) * ae, (size_t)ar * ae);
    a1.strides[0] = ar;
    y1.strides[0] = yr;
    a1.nbytes = (uint64_t)(B * ar) * ae;
    y1.nbytes = (uint64_t)(B * yr) * ye;
    kcs_tensor io1[2] = {a1, y1};
    MUST(kcs_plan_run(plan, "{\"M\": 1}", io1, 2, "m_tile=1", 1));
    for (int64_t b = 0; b < B; ++b)
      EXPECT(memcmp((const char*)y1.data + (size_t)(b * yr) * ye, (const char*)y.data + (size_t)(b * M * yr) * ye,
                    (size_t)yr * ye) == 0,
             "batch %lld row 0 with M = 1 differs from the full call's", (long long)b);
    free((void*)a1.data);
    free((void*)y1.data);
  }

  /* Refusals: a status, a message naming the problem, nothing written. */
  memset((void*)y2.data, 0x5A, y2.nbytes);
  io[1] = y2;
  kcs_status st = kcs_plan_run(plan, "{\"K\": 7}", io, 2, NULL, 1);
  EXPECT(st == KCS_E_DATA && contains(kcs_last_error(), "dimension K"), "status %d: %s", (int)st, kcs_last_error());
  int untouched = 1;
  for (uint64_t k = 0; k < y2.nbytes; ++k) untouched &= ((const unsigned char*)y2.data)[k] == 0x5A;
  EXPECT(untouched, "a refused call wrote its output");
  kcs_tensor with_w[3] = {a, y2, w};
  st = kcs_plan_run(plan, NULL, with_w, 3, NULL, 1);
  EXPECT(st == KCS_E_DATA && contains(kcs_last_error(), "'w' is a weight"), "status %d: %s", (int)st, kcs_last_error());
  kcs_plan* bad = NULL;
  kcs_tensor w_and_a[2] = {w, a};
  st = kcs_plan_prepare(be, "gemm_bf16", info, w_and_a, 2, 1, &bad);
  EXPECT(st == KCS_E_DATA && bad == NULL && contains(kcs_last_error(), "'a' is not a weight"), "status %d: %s",
         (int)st, kcs_last_error());
  st = kcs_plan_run(plan, NULL, io, 2, "m_tile=-7", 1);
  EXPECT(st != KCS_OK && contains(kcs_last_error(), "m_tile"), "status %d: %s", (int)st, kcs_last_error());
  kcs_backend* none = NULL;
  st = kcs_backend_open("no_such_backend", &none);
  EXPECT(st == KCS_E_NOT_FOUND && none == NULL && contains(kcs_last_error(), "no_such_backend"), "status %d: %s",
         (int)st, kcs_last_error());

  kcs_plan_free(plan);
  kcs_backend_free(be);
  kcs_free_string(info);
  kcs_case_free(c);
  free((void*)w_mine.data);
  free((void*)y.data);
  free((void*)y2.data);
  free((void*)y3.data);
  if (failures) return 1;
  printf("plan_c_test: %s ok (%s)\n", id, backend);
  return 0;
}
