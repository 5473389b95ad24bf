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
#include "conformance/runner/stages.h"
#include "fuzz/scratch_file.h"
#include "kcs/status.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const char* path = kcs::fuzz::write_scratch("kcs_fuzz", data, size);
  try {
    const kcs::Bundle b = kcs::read_bundle(path, kcs::BundleExtras::scoring, &kcs::stage_intermediates);  // as kcs run
    // A bundle that validates is usable: every tensor has the bytes its shape says.
    for (const auto* m : {&b.inputs, &b.outputs, &b.inout_before, &b.inout_after})
      for (const auto& [name, t] : *m)
        if (t.numel() && !t.raw()) std::abort();
  } catch (const kcs::Error& e) {
    kcs::fuzz::note_refusal(e.what());
  }
  return 0;
}
