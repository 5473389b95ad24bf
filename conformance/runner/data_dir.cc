#include "conformance/runner/data_dir.h"

#include <dlfcn.h>

#include <filesystem>
#include <system_error>

namespace kcs {

namespace {

std::filesystem::path this_module() {
  namespace fs = std::filesystem;
  Dl_info info{};
  // The main program's entry has no usable path in dladdr: /proc/self/exe names it.
  if (dladdr(reinterpret_cast<void*>(&installed_data_dir), &info) && info.dli_fname && info.dli_fname[0] == '/')
    return info.dli_fname;
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  return ec ? fs::path() : exe;
}

}  // namespace

std::string installed_data_dir() {
  static const std::string dir = [] {
    namespace fs = std::filesystem;
    const fs::path m = this_module();
    if (m.empty()) return std::string();
    std::error_code ec;
    // lib/ or lib/<multiarch>/ for the library, bin/ for a program.
    for (const char* up : {"..", "../.."}) {
      const fs::path d = (m.parent_path() / up / "share" / "kcs").lexically_normal();
      if (fs::is_directory(d / "catalog", ec)) return d.string();
    }
    return std::string();
  }();
  return dir;
}

}  // namespace kcs
