// Links against kcs_reference alone (no kcs_optimized): every reference adapter is reachable from
// make_reference_backend(), so a reference symbol that needed the optimized code would fail here.
#include <cstdio>

#include "kcs/backend.h"

int main() {
  const auto b = kcs::make_reference_backend();
  std::printf("%s supports q8: %d\n", b->name().c_str(), b->supports("q8") ? 1 : 0);
  return b->supports("q8") ? 0 : 1;
}
