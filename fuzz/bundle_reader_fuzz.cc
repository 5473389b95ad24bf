// libFuzzer target over the fixture bundle reader (conformance/fixture): any byte string, written
// to a file, must make read_bundle() return a validated bundle or throw kcs::Error naming the
// problem; it must never crash, hang, leak or touch memory it does not own (ASan).
// Built by fuzz/CMakeLists.txt with clang -fsanitize=fuzzer,address when clang is installed;
// docs in fuzz/README.md.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "conformance/fixture/bundle.h"
#include "kcs/status.h"

namespace {

// One scratch file per process, rewritten per input (the reader takes a path: HDF5 opens files).
const std::string& scratch_path() {
  static const std::string path = [] {
    const char* dir = std::getenv("TMPDIR");
    std::string p = std::string(dir && *dir ? dir : "/tmp") + "/kcs_fuzz_" + std::to_string(getpid()) + ".h5";
    return p;
  }();
  return path;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string& path = scratch_path();
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) std::abort();
  if (size && std::fwrite(data, 1, size, f) != size) std::abort();
  std::fclose(f);
  try {
    const kcs::Bundle b = kcs::read_bundle(path);
    // A bundle that validates is usable: every tensor has the bytes its shape says.
    for (const auto* m : {&b.inputs, &b.outputs, &b.inout_before, &b.inout_after})
      for (const auto& [name, t] : *m)
        if (t.numel() && !t.raw()) std::abort();
  } catch (const kcs::Error&) {
    // The documented way to refuse a file.
  }
  return 0;
}
