/* A plug-in built against another ABI version: kcs must refuse it before calling anything else. */
#include "kcs/plugin.h"

uint32_t kcs_plugin_abi_version(void) { return 99u; }
const char* kcs_plugin_name(void) { return "bad_abi"; }
const char* const* kcs_plugin_kernels(void) {
  static const char* const k[] = {"q8", NULL};
  return k;
}
int32_t kcs_plugin_run(const kcs_call* c, char* msg, size_t size) {
  (void)c;
  (void)msg;
  (void)size;
  return 0; /* never reached: a wrong-version plug-in is never called */
}
