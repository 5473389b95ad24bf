/* The worked example with one wrong code: element [0, 0] of q8's codes is off by one whenever
 * the row is nonzero. The call succeeds (status 0); only the comparison can catch it. */
#define kcs_plugin_name example_name
#define kcs_plugin_run example_run
#define kcs_plugin_describe example_describe
#define kcs_plugin_kernels example_kernels
#include "../../examples/plugin/kcs_example_plugin.c"
#undef kcs_plugin_name
#undef kcs_plugin_run
#undef kcs_plugin_describe
#undef kcs_plugin_kernels

KCS_EXPORT const char* kcs_plugin_name(void) { return "wrong_answer"; }
KCS_EXPORT const char* const* kcs_plugin_kernels(void) {
  static const char* const k[] = {"q8", NULL};
  return k;
}
KCS_EXPORT int32_t kcs_plugin_run(const kcs_call* c, char* msg, size_t size) {
  const int32_t rc = example_run(c, msg, size);
  const kcs_tensor* codes = kcs_call_tensor(c, "codes");
  if (rc == 0 && codes && codes->data && codes->shape[0] > 0 && codes->shape[1] > 0) {
    int8_t* p = (int8_t*)codes->data;
    if (*p != 0) *p = (int8_t)(*p > 0 ? *p - 1 : *p + 1);
  }
  return rc;
}
