// Variants as data: every optimized kernel lists its ISA variants once, best first, in a constexpr
// table at the end of its header (kQ8Variants, kRopeVariants, ...), one row per ISA naming the entry
// points. The CPU features an ISA needs are isa_requirements(isa) (core/cpu.cc), one list for all
// kernels. The adapters dispatch through variant(), the conformance suites and benches enumerate
// runnable_variants(); adding a variant is one row in its kernel's table.
// Header-only templates: instantiated in the adapters (baseline ISA), never in an ISA file.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "kcs/cpu.h"
#include "kcs/status.h"

namespace kcs::opt {

// The row of `isa`; a kernel without an amx row runs its avx512 row there (the amx backend is the
// AVX-512 kernels plus the tile rows). Throws kcs::Error when the kernel has no such variant.
template <class V, size_t N>
const V& variant(const V (&list)[N], Isa isa) {
  for (const V& v : list)
    if (v.isa == isa) return v;
  if (isa == Isa::amx) return variant(list, Isa::avx512);
  throw Error(std::string("no ") + isa_name(isa) + " variant of this kernel");
}

// The rows this CPU runs, in table order (best first): an amx row only where the kernel has one.
template <class V, size_t N>
std::vector<V> runnable_variants(const V (&list)[N]) {
  std::vector<V> out;
  for (const V& v : list)
    if (isa_missing(v.isa).empty()) out.push_back(v);
  return out;
}

}  // namespace kcs::opt
