#include "kcs/cpu.h"

#include <cpuid.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <sstream>

namespace kcs {

namespace {

uint64_t xgetbv0() {
  uint32_t eax = 0, edx = 0;
  __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return (static_cast<uint64_t>(edx) << 32) | eax;
}

CpuFeatures detect() {
  CpuFeatures f;
  unsigned a = 0, b = 0, c = 0, d = 0;
  unsigned max_leaf = __get_cpuid_max(0, nullptr);
  if (max_leaf < 1) return f;
  __cpuid(1, a, b, c, d);
  const bool osxsave = (c >> 27) & 1;
  const uint64_t xcr0 = osxsave ? xgetbv0() : 0;
  const bool os_ymm = (xcr0 & 0x6) == 0x6;       // XMM and YMM state enabled by the OS
  const bool os_zmm = (xcr0 & 0xE6) == 0xE6;     // plus opmask and ZMM state
  const bool os_tile = (xcr0 & 0x60000) == 0x60000;  // XTILECFG (17) and XTILEDATA (18)
  f.fma = os_ymm && ((c >> 12) & 1);
  f.f16c = os_ymm && ((c >> 29) & 1);
  if (max_leaf >= 7) {
    __cpuid_count(7, 0, a, b, c, d);
    f.avx2 = os_ymm && ((b >> 5) & 1);
    f.avx512f = os_zmm && ((b >> 16) & 1);
    f.avx512dq = os_zmm && ((b >> 17) & 1);
    f.avx512bw = os_zmm && ((b >> 30) & 1);
    f.avx512vl = os_zmm && ((b >> 31) & 1);
    f.avx512_vnni = os_zmm && ((c >> 11) & 1);
    f.amx_bf16 = os_tile && ((d >> 22) & 1);
    f.amx_tile = os_tile && ((d >> 24) & 1);
    f.amx_int8 = os_tile && ((d >> 25) & 1);
    __cpuid_count(7, 1, a, b, c, d);
    f.avx_vnni = os_ymm && ((a >> 4) & 1);
    f.avx512_bf16 = os_zmm && ((a >> 5) & 1);
  }
  unsigned ext = __get_cpuid_max(0x80000000, nullptr);
  if (ext >= 0x80000004) {
    char brand[49] = {};
    for (unsigned i = 0; i < 3; ++i) {
      unsigned r[4];
      __cpuid(0x80000002 + i, r[0], r[1], r[2], r[3]);
      std::memcpy(brand + 16 * i, r, 16);
    }
    std::string s(brand);
    size_t first = s.find_first_not_of(' ');
    f.model = first == std::string::npos ? "" : s.substr(first);
  }
  if (f.model.empty()) f.model = "unknown x86-64";

  if (const char* off = std::getenv("KCS_DISABLE_FEATURES")) {
    std::stringstream ss(off);
    std::string name;
    while (std::getline(ss, name, ',')) {
      if (name == "avx2") f.avx2 = false;
      if (name == "fma") f.fma = false;
      if (name == "f16c") f.f16c = false;
      if (name == "avx512f") f.avx512f = false;
      if (name == "avx512bw") f.avx512bw = false;
      if (name == "avx512vl") f.avx512vl = false;
      if (name == "avx512dq") f.avx512dq = false;
      if (name == "avx512_vnni") f.avx512_vnni = false;
      if (name == "avx512_bf16") f.avx512_bf16 = false;
      if (name == "avx_vnni") f.avx_vnni = false;
      if (name == "amx_tile") f.amx_tile = false;
      if (name == "amx_int8") f.amx_int8 = false;
      if (name == "amx_bf16") f.amx_bf16 = false;
    }
  }
  // Once per process, and only where the tile products could run (a hidden feature asks nothing).
  if (f.amx_tile) {
    constexpr long kArchReqXcompPerm = 0x1023, kXfeatureXtiledata = 18;
    if (syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatureXtiledata) != 0)
      f.amx_refused = std::string("the OS refused AMX tile data (arch_prctl ARCH_REQ_XCOMP_PERM: ") +
                      std::strerror(errno) + ")";
  }
  return f;
}

}  // namespace

std::vector<std::string> CpuFeatures::names() const {
  std::vector<std::string> n;
  auto add = [&](bool b, const char* s) {
    if (b) n.push_back(s);
  };
  add(avx2, "avx2");
  add(fma, "fma");
  add(f16c, "f16c");
  add(avx512f, "avx512f");
  add(avx512bw, "avx512bw");
  add(avx512vl, "avx512vl");
  add(avx512dq, "avx512dq");
  add(avx512_vnni, "avx512_vnni");
  add(avx512_bf16, "avx512_bf16");
  add(avx_vnni, "avx_vnni");
  add(amx_tile, "amx_tile");
  add(amx_int8, "amx_int8");
  add(amx_bf16, "amx_bf16");
  return n;
}

bool CpuFeatures::has(const std::string& name) const {
  for (const auto& n : names())
    if (n == name) return true;
  return false;
}

const CpuFeatures& cpu_features() {
  static const CpuFeatures f = detect();
  return f;
}

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::amx: return "amx";
    case Isa::avx512: return "avx512";
    case Isa::avx2: break;
  }
  return "avx2";
}

std::vector<std::string> isa_requirements(Isa isa) {
  if (isa == Isa::avx2) return {"avx2", "fma", "f16c"};
  // One level for the whole AVX-512 backend (Zen 4+/Sapphire Rapids): the GEMM engines need
  // VNNI and BF16 dot products, so a partial AVX-512 CPU runs the AVX2 variant instead.
  std::vector<std::string> r = {"avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512_vnni", "avx512_bf16"};
  if (isa == Isa::amx) r.insert(r.end(), {"amx_tile", "amx_int8", "amx_bf16"});
  return r;
}

std::string isa_missing(Isa isa) {
  std::string missing;
  for (const auto& r : isa_requirements(isa))
    if (!cpu_features().has(r)) missing += (missing.empty() ? "" : ", ") + r;
  if (!missing.empty()) return "needs " + missing;
  if (isa == Isa::amx) return cpu_features().amx_refused;
  return "";
}

}  // namespace kcs
