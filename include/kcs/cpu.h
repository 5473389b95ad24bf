// CPU features from CPUID/XGETBV at run time. The build never assumes the build machine's CPU.
//
// KCS_DISABLE_FEATURES=avx512f,avx512_vnni (comma list) hides features, so a machine with
// AVX-512 can prove that the AVX-512 variant is reported as skipped where it cannot run.
//
// AMX tile data is a dynamic XSAVE feature on Linux: a process must ask for it (arch_prctl
// ARCH_REQ_XCOMP_PERM) before its first tile instruction, or that instruction kills it. Detection
// asks once per process (workers included: they detect too) and records a refusal as the reason
// the amx variant cannot run.
#pragma once

#include <string>
#include <vector>

namespace kcs {

struct CpuFeatures {
  std::string model;
  bool avx2 = false, fma = false, f16c = false;
  bool avx512f = false, avx512bw = false, avx512vl = false, avx512dq = false;
  bool avx512_vnni = false, avx512_bf16 = false, avx_vnni = false;
  bool amx_tile = false, amx_int8 = false, amx_bf16 = false;  // CPUID and XCR0 (TILECFG, TILEDATA)
  std::string amx_refused;  // why the OS refused tile data to this process; empty when granted or not asked

  std::vector<std::string> names() const;  // present features, in the spelling used by messages
  bool has(const std::string& name) const;
};

const CpuFeatures& cpu_features();

// The ISA variants of the optimized backend and what each needs.
// amx: the AVX-512 kernels plus tile (AMX INT8/BF16) rows where a kernel has them.
enum class Isa { avx2, avx512, amx };
const char* isa_name(Isa isa);
std::vector<std::string> isa_requirements(Isa isa);
// Empty when this CPU runs the variant; otherwise "needs avx512_vnni, avx512_bf16".
std::string isa_missing(Isa isa);
// The vector ISA of a variant's code outside its tile products (amx -> avx512).
constexpr Isa vector_isa(Isa isa) { return isa == Isa::amx ? Isa::avx512 : isa; }

}  // namespace kcs
