// Out-of-tree use of the conformance runner: load a plug-in, run every smoke case of q8 on it
// with the catalog's tile sweep, print one line per run. Exit 0 when every run passed.
#include <cstdio>

#include "conformance/runner/catalog.h"
#include "conformance/runner/runner.h"
#include "kcs/plugin_backend.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s PLUGIN.so\n", argv[0]);
    return 2;
  }
  auto be = kcs::PluginBackend::load(argv[1]);
  if (!be->load_error().empty()) {
    std::fprintf(stderr, "%s\n", be->load_error().c_str());
    return 1;
  }
  const kcs::Catalog c = kcs::load_catalog(kcs::kernel_or_throw("q8"));
  int runs = 0, passed = 0;
  for (const auto& cs : kcs::select_cases(c, kcs::Tier::smoke)) {
    const kcs::Bundle b = kcs::load_or_make_bundle(cs);
    for (const auto& tile : c.tiles) {
      const kcs::RunRecord r = kcs::run_case(cs, b, *be, tile, 1);
      ++runs;
      passed += r.verdict == kcs::Verdict::passed;
      std::printf("%-8s %s  %s\n", kcs::verdict_name(r.verdict), r.repro.c_str(), r.reason.c_str());
    }
  }
  std::printf("%s: %d of %d runs passed\n", be->name().c_str(), passed, runs);
  return runs > 0 && passed == runs ? 0 : 1;
}
