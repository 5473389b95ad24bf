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

// One scratch file per process, rewritten per input (the reader takes a path: HDF5 opens files),
// removed at a normal exit. Fixed-width pid: the path is in every error message, and a path of
// another length would take other branches of the (instrumented) string code, so a seeded run
// would not repeat.
char g_scratch[4096];

void remove_scratch() { std::remove(g_scratch); }

const char* scratch_path() {
  if (!g_scratch[0]) {
    const char* dir = std::getenv("TMPDIR");
    std::snprintf(g_scratch, sizeof g_scratch, "%s/kcs_fuzz_%010d.h5", dir && *dir ? dir : "/tmp",
                  static_cast<int>(getpid()));
    std::atexit(&remove_scratch);
  }
  return g_scratch;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const char* path = scratch_path();
  std::FILE* f = std::fopen(path, "wb");
  if (!f) std::abort();
  if (size && std::fwrite(data, 1, size, f) != size) std::abort();
  std::fclose(f);
  try {
    const kcs::Bundle b = kcs::read_bundle(path);
    // A bundle that validates is usable: every tensor has the bytes its shape says.
    for (const auto* m : {&b.inputs, &b.outputs, &b.inout_before, &b.inout_after})
      for (const auto& [name, t] : *m)
        if (t.numel() && !t.raw()) std::abort();
  } catch (const kcs::Error& e) {
    // The documented way to refuse a file. KCS_FUZZ_PRINT=1 shows why (when replaying a finding).
    static const bool print = std::getenv("KCS_FUZZ_PRINT") != nullptr;
    if (print) std::fprintf(stderr, "refused: %s\n", e.what());
  }
  return 0;
}
