/* A plug-in that forgot kcs_plugin_kernels and kcs_plugin_run (e.g. C++ without extern "C"). */
#include "kcs/plugin.h"

uint32_t kcs_plugin_abi_version(void) { return KCS_PLUGIN_ABI_VERSION; }
const char* kcs_plugin_name(void) { return "missing_symbols"; }
int32_t kcs_plugin_run_misspelled(const kcs_call* c, char* msg, size_t size);
int32_t kcs_plugin_run_misspelled(const kcs_call* c, char* msg, size_t size) {
  (void)c;
  (void)msg;
  (void)size;
  return 0;
}
