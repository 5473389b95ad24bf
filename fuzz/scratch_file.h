// The fuzz targets' input file: one scratch path per process, rewritten per input (the readers take
// a path: HDF5 opens files), removed at a normal exit. Fixed-width pid: the path is in every error
// message, and a path of another length would take other branches of the (instrumented) string
// code, so a seeded run would not repeat.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>

namespace kcs::fuzz {

inline char g_scratch[4096];

inline void remove_scratch() { std::remove(g_scratch); }

// Writes the input to <TMPDIR>/<stem>_<pid>.h5 and returns that path.
inline const char* write_scratch(const char* stem, const uint8_t* data, size_t size) {
  if (!g_scratch[0]) {
    const char* dir = std::getenv("TMPDIR");
    std::snprintf(g_scratch, sizeof g_scratch, "%s/%s_%010d.h5", dir && *dir ? dir : "/tmp", stem,
                  static_cast<int>(getpid()));
    std::atexit(&remove_scratch);
  }
  std::FILE* f = std::fopen(g_scratch, "wb");
  if (!f) std::abort();
  if (size && std::fwrite(data, 1, size, f) != size) std::abort();
  std::fclose(f);
  return g_scratch;
}

// The documented way to refuse a file; KCS_FUZZ_PRINT=1 shows why (when replaying a finding).
inline void note_refusal(const char* why) {
  static const bool print = std::getenv("KCS_FUZZ_PRINT") != nullptr;
  if (print) std::fprintf(stderr, "refused: %s\n", why);
}

}  // namespace kcs::fuzz
