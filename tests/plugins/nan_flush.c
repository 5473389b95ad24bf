/* The worked example with another answer for q8 rows that hold a NaN or an Inf (outside the
 * kernel's contract): such a row gets scale +0 where the reference gives NaN or +Inf ("flushed").
 * Every finite row is the example's, so kcs must report the q8.nan_inf cases as
 * outside_contract_differs and pass everything else.
 * Built a second time with NAN_FLUSH_LEAKS (nan_flush_leaky): the flush also reaches the row after
 * a nonfinite one, a finite row inside the contract: those cases must fail. */
#define kcs_plugin_name example_name
#define kcs_plugin_run example_run
#define kcs_plugin_describe example_describe
#define kcs_plugin_kernels example_kernels
#include "../../examples/plugin/kcs_example_plugin.c"
#undef kcs_plugin_name
#undef kcs_plugin_run
#undef kcs_plugin_describe
#undef kcs_plugin_kernels

#ifdef NAN_FLUSH_LEAKS
KCS_EXPORT const char* kcs_plugin_name(void) { return "nan_flush_leaky"; }
#else
KCS_EXPORT const char* kcs_plugin_name(void) { return "nan_flush"; }
#endif
KCS_EXPORT const char* const* kcs_plugin_kernels(void) {
  static const char* const k[] = {"q8", NULL};
  return k;
}

static void set_zero_scale(const kcs_tensor* scale, int64_t r) {
  if (scale->dtype == KCS_DTYPE_FP16)
    ((uint16_t*)scale->data)[AT(scale, r, 0)] = 0;
  else
    ((float*)scale->data)[AT(scale, r, 0)] = 0.0f;
}

KCS_EXPORT int32_t kcs_plugin_run(const kcs_call* c, char* msg, size_t size) {
  const int32_t rc = example_run(c, msg, size);
  const kcs_tensor* x = kcs_call_tensor(c, "x");
  const kcs_tensor* scale = kcs_call_tensor(c, "scale");
  int64_t r, j;
  if (rc != 0 || !x || !scale) return rc;
  for (r = 0; r < x->shape[0]; ++r) {
    int finite = 1;
    for (j = 0; j < x->shape[1]; ++j) {
      const float v = load_f32(x, AT(x, r, j));
      if (v != v || v - v != 0.0f) finite = 0; /* NaN, or Inf (Inf - Inf is NaN) */
    }
    if (finite) continue;
    set_zero_scale(scale, r);
#ifdef NAN_FLUSH_LEAKS
    if (r + 1 < x->shape[0]) set_zero_scale(scale, r + 1);
#endif
  }
  return rc;
}
