// The built-in backends: the registry is the one place that sees both implementations, so it
// sits above kcs_reference and kcs_optimized (neither links the other).
#include "kcs/backend.h"

namespace kcs {

std::vector<std::unique_ptr<Backend>> builtin_backends() {
  std::vector<std::unique_ptr<Backend>> v;
  v.push_back(make_reference_backend());
  v.push_back(make_isa_backend(Isa::amx));
  v.push_back(make_isa_backend(Isa::avx512));
  v.push_back(make_isa_backend(Isa::avx2));
  v.push_back(make_best_optimized_backend());
  return v;
}

std::unique_ptr<Backend> make_builtin_backend(const std::string& name) {
  for (auto& b : builtin_backends())
    if (b->name() == name) return std::move(b);
  return nullptr;
}

}  // namespace kcs
