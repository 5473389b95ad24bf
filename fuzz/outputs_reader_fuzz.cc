// libFuzzer target over the `kcs check` path: any byte string, written to a file, is read as an
// outputs file (kcs::read_outputs) against a real committed bundle and scored (score_outputs);
// it must give check results or a kcs::Error naming the problem, never a crash, hang, leak or
// a blow-up of memory. The seeds (fuzz/seeds/outputs, made by fuzz/make_outputs_seeds.py) are
// outputs files written by h5py, the documented path for backends in other languages.
// Built by fuzz/CMakeLists.txt with clang -fsanitize=fuzzer,address; docs in fuzz/README.md.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "fuzz/outputs_check.h"
#include "kcs/status.h"

namespace {

const std::vector<kcs::Bundle>& bundles() {
  static const std::vector<kcs::Bundle> all = kcs::fuzz::load_outputs_bundles(KCS_SOURCE_DIR);
  return all;
}

// One scratch file per process (fixed-width pid: see bundle_reader_fuzz.cc).
char g_scratch[4096];
void remove_scratch() { std::remove(g_scratch); }
const char* scratch_path() {
  if (!g_scratch[0]) {
    const char* dir = std::getenv("TMPDIR");
    std::snprintf(g_scratch, sizeof g_scratch, "%s/kcs_fuzz_out_%010d.h5", dir && *dir ? dir : "/tmp",
                  static_cast<int>(getpid()));
    std::atexit(&remove_scratch);
  }
  return g_scratch;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::vector<kcs::Bundle>& all = bundles();
  const char* path = scratch_path();
  std::FILE* f = std::fopen(path, "wb");
  if (!f) std::abort();
  if (size && std::fwrite(data, 1, size, f) != size) std::abort();
  std::fclose(f);
  try {
    if (kcs::fuzz::check_outputs_file(path, all).empty()) std::abort();
  } catch (const kcs::Error& e) {
    static const bool print = std::getenv("KCS_FUZZ_PRINT") != nullptr;
    if (print) std::fprintf(stderr, "refused: %s\n", e.what());
  }
  return 0;
}
