// Links against kcs_optimized alone (no kcs_reference): every optimized adapter is reachable from
// make_best_optimized_backend(), so an optimized symbol that needed the reference would fail here.
#include <cstdio>

#include "kcs/backend.h"

int main() {
  const auto b = kcs::make_best_optimized_backend();
  std::printf("%s supports q8: %d\n", b->name().c_str(), b->supports("q8") ? 1 : 0);
  return b->supports("q8") ? 0 : 1;
}
