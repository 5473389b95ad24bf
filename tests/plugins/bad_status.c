/* A plug-in whose every call fails with a non-zero status and a message. */
#include <stdio.h>

#include "kcs/plugin.h"

uint32_t kcs_plugin_abi_version(void) { return KCS_PLUGIN_ABI_VERSION; }
const char* kcs_plugin_name(void) { return "bad_status"; }
const char* const* kcs_plugin_kernels(void) {
  static const char* const k[] = {"q8", NULL};
  return k;
}
int32_t kcs_plugin_run(const kcs_call* c, char* msg, size_t size) {
  snprintf(msg, size, "simulated device failure on %s (out of device memory)", c->kernel);
  return KCS_STATUS_INTERNAL;
}
