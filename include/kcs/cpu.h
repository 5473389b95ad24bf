// CPU features from CPUID/XGETBV at run time. The build never assumes the build machine's CPU.
//
// KCS_DISABLE_FEATURES=avx512f,avx512_vnni (comma list) hides features, so a machine with
// AVX-512 can prove that the AVX-512 variant is reported as skipped where it cannot run.
#pragma once

#include <string>
#include <vector>

namespace kcs {

struct CpuFeatures {
  std::string model;
  bool avx2 = false, fma = false, f16c = false;
  bool avx512f = false, avx512bw = false, avx512vl = false, avx512dq = false;
  bool avx512_vnni = false, avx512_bf16 = false, avx_vnni = false;

  std::vector<std::string> names() const;  // present features, in the spelling used by messages
  bool has(const std::string& name) const;
};

const CpuFeatures& cpu_features();

// The ISA variants of the optimized backend and what each needs.
enum class Isa { avx2, avx512 };
const char* isa_name(Isa isa);
std::vector<std::string> isa_requirements(Isa isa);
// Empty when this CPU runs the variant; otherwise "needs avx512_vnni, avx512_bf16".
std::string isa_missing(Isa isa);

}  // namespace kcs
