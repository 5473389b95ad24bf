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
#include "fuzz/scratch_file.h"
#include "kcs/status.h"

namespace {

const std::vector<kcs::Bundle>& bundles() {
  static const std::vector<kcs::Bundle> all = kcs::fuzz::load_outputs_bundles(KCS_SOURCE_DIR);
  return all;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::vector<kcs::Bundle>& all = bundles();
  const char* path = kcs::fuzz::write_scratch("kcs_fuzz_out", data, size);
  try {
    if (kcs::fuzz::check_outputs_file(path, all).empty()) std::abort();
  } catch (const kcs::Error& e) {
    kcs::fuzz::note_refusal(e.what());
  }
  return 0;
}
