/* Fault plug-ins for the reliability suite: the worked example (examples/plugin) with one fault
 * compiled in (-DFAULT_<KIND>), firing at call FAULT_AT of the process (default 20) unless the kind
 * says otherwise. Every kind is a way a real backend under test has taken down or fooled a run:
 *   EXIT0 exit(0)   SEGV a null write   ABORT abort()   HANG an endless loop
 *   LEAK  64 MiB malloc'd and touched on every call, never freed
 *   INPUT_WRITE  one byte of input x changed
 *   OOB1 / OOB4K one byte / 4 KiB written just past the end of output 'codes'
 *   FTZ   MXCSR FTZ|DAZ left set   RTZ fesetround(FE_TOWARDZERO) left set
 *   OFAST FTZ|DAZ set by a constructor at load (what -Ofast's crtfastmath.o does)
 *   NONDET scale[0] one bit off on every even call (same input, different bits)
 *   TILE   scale[0] one bit off when row_tile != 16 (a bit-invariant knob changes a bit)
 *   CTOR_CRASH a null write in the library's constructor
 *   LATE_WRITE correct outputs returned, then a detached thread keeps writing into 'codes' for 50 ms
 *              (the shape of an unsynchronized device copy or a worker thread not joined)
 *   FORK_CHILD a forked child that outlives the call by 300 s, holding the worker's stdout/stderr
 *              (a helper daemon): a piped `kcs run | cat` must still end */
#define kcs_plugin_name example_name
#define kcs_plugin_run example_run
#include "../../examples/plugin/kcs_example_plugin.c"
#undef kcs_plugin_name
#undef kcs_plugin_run

#include <fenv.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>
#include <signal.h>
#include <stdlib.h>
#include <xmmintrin.h>

#ifndef FAULT_AT
#define FAULT_AT 20
#endif
#define STR2(x) #x
#define STR(x) STR2(x)

KCS_EXPORT const char* kcs_plugin_name(void) { return "fault_" STR(FAULT_NAME); }

/* Through a volatile pointer: a literal null store is UB that the compiler may delete. */
__attribute__((unused)) static int* volatile null_ptr = 0;
/* Leaked blocks stay reachable from here, so the compiler cannot drop the malloc. */
void* volatile leaked[4096];

#if defined(FAULT_OFAST)
__attribute__((constructor)) static void fast_math_at_load(void) { _mm_setcsr(_mm_getcsr() | 0x8040u); }
#endif
#if defined(FAULT_CTOR_CRASH)
__attribute__((constructor)) static void crash_at_load(void) { *null_ptr = 1; }
#endif

__attribute__((unused)) static void flip_scale0(const kcs_call* c) {
  const kcs_tensor* s = kcs_call_tensor(c, "scale");
  if (s && s->data && s->shape[0] > 0) ((uint32_t*)s->data)[0] ^= 1u;
}

#if defined(FAULT_LATE_WRITE)
static void* keep_writing(void* p) {
  struct timespec ts = {0, 100000};
  for (int i = 0; i < 500; ++i) {
    ((volatile unsigned char*)p)[0] = 0x5A;
    nanosleep(&ts, NULL);
  }
  return NULL;
}
#endif

KCS_EXPORT int32_t kcs_plugin_run(const kcs_call* c, char* msg, size_t size) {
  static long calls = 0;
  const int fire = ++calls == FAULT_AT;
  int32_t rc;
  (void)fire;
#if defined(FAULT_LEAK)
  {
    char* p = (char*)malloc(64u << 20);
    memset(p, 1, 64u << 20); /* NULL when the limit is reached: a crash, as in a real leak */
    leaked[calls % 4096] = p;
  }
#endif
#if defined(FAULT_EXIT0)
  if (fire) exit(0);
#elif defined(FAULT_SEGV)
  if (fire) *null_ptr = 1;
#elif defined(FAULT_ABORT)
  if (fire) abort();
#elif defined(FAULT_HANG)
  if (fire)
    for (volatile int spin = 0;; spin = spin + 1) {
    }
#elif defined(FAULT_INPUT_WRITE)
  if (fire) {
    const kcs_tensor* x = kcs_call_tensor(c, "x");
    if (x && x->data) ((unsigned char*)x->data)[0] ^= 0x40;
  }
#endif
  rc = example_run(c, msg, size);
#if defined(FAULT_OOB1) || defined(FAULT_OOB4K)
  if (fire) {
    const kcs_tensor* t = kcs_call_tensor(c, "codes");
    const size_t n = (size_t)t->shape[0] * (size_t)t->shape[1];
#if defined(FAULT_OOB1)
    ((unsigned char*)t->data)[n] = 0x5A;
#else
    memset((unsigned char*)t->data + n, 0x5A, 4096);
#endif
  }
#elif defined(FAULT_FTZ)
  if (fire) _mm_setcsr(_mm_getcsr() | 0x8040u);
#elif defined(FAULT_RTZ)
  if (fire) fesetround(FE_TOWARDZERO);
#elif defined(FAULT_NONDET)
  if (calls % 2 == 0) flip_scale0(c);
#elif defined(FAULT_TILE)
  if (kcs_call_knob(c, "row_tile", 16) != 16) flip_scale0(c);
#elif defined(FAULT_FORK_CHILD)
  if (fire && fork() == 0) {
    sleep(300);
    _exit(0);
  }
#elif defined(FAULT_LATE_WRITE)
  if (fire) {
    pthread_t t;
    if (pthread_create(&t, NULL, keep_writing, kcs_call_tensor(c, "codes")->data) == 0) pthread_detach(t);
  }
#endif
  return rc;
}
