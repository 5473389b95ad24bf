/* The worked example with a plausible Q8 bug: it rounds every code with ties away from zero (rhaz)
 * whatever round_mode says. Only exact .5 ties differ, so a failure must name its cause: the
 * reference's value before rounding (x.5), the row's amax and the element's input, and a diagnosis. */
#include <string.h>

#include "kcs/plugin.h"

static const char* ties_attr(const kcs_call* c, const char* name, const char* fallback) {
  return strcmp(name, "round_mode") == 0 ? "rhaz" : kcs_call_attr(c, name, fallback);
}
#define kcs_call_attr ties_attr
#define kcs_plugin_name example_name
#define kcs_plugin_describe example_describe
#define kcs_plugin_kernels example_kernels
#include "../../examples/plugin/kcs_example_plugin.c"
#undef kcs_plugin_name
#undef kcs_plugin_describe
#undef kcs_plugin_kernels

KCS_EXPORT const char* kcs_plugin_name(void) { return "ties_away"; }
KCS_EXPORT const char* kcs_plugin_describe(void) { return "the worked example with Q8 ties rounded away from zero"; }
KCS_EXPORT const char* const* kcs_plugin_kernels(void) {
  static const char* const k[] = {"q8", NULL};
  return k;
}
