// The conformance runner: builds a case's bundle (generator + reference), runs a backend on it
// with a tile configuration, and scores every output, inout tensor and invariant.
#pragma once

#include <string>
#include <vector>

#include "conformance/fixture/bundle.h"
#include "conformance/runner/catalog.h"
#include "kcs/backend.h"
#include "kcs/check.h"

namespace kcs {

// Inputs from the kernel's generator, expected outputs from the reference backend. For a case
// that expects an error, only the inputs are filled (and the reference must reject them).
Bundle make_bundle(const CaseSpec& cs);
// The same with the inputs and inout before-states given (every non-out tensor of the kernel),
// e.g. a fused kernel's stage input (conformance/runner/stages.h).
Bundle make_bundle_from(const CaseSpec& cs, const TensorMap& given);
// <bundle_dir()>/<kernel>/<case id>.h5
std::string committed_bundle_path(const CaseSpec& cs);
// The committed bundle when one exists, else make_bundle().
Bundle load_or_make_bundle(const CaseSpec& cs);

// xfail / unsupported come only from a backend's expectation list (conformance/runner/expectations.h).
enum class Verdict { passed, failed, skipped, error, xfail, unsupported };
const char* verdict_name(Verdict v);

struct RunRecord {
  std::string kernel, case_id, backend, tile;
  int threads = 1;
  Verdict verdict = Verdict::error;
  std::string reason;  // skipped: why; error: the backend's message; failed: the first failed check
  std::vector<CheckResult> checks;
  std::string repro;  // one command line that reproduces this record
  double seconds = 0;
};

std::string repro_command(const std::string& case_id, const std::string& backend, const std::string& tile,
                          int threads);

// Poisons outputs, runs, scores. Never throws for a backend failure: it becomes the record.
RunRecord run_case(const CaseSpec& cs, const Bundle& b, Backend& backend, const TileConfig& tile, int threads);

// Scores outputs computed by anyone (a backend call or an external program through `kcs check`):
// `actual` holds every out tensor and the after-state of every inout tensor.
std::vector<CheckResult> score_outputs(const KernelDecl& decl, const Bundle& b, const TensorMap& actual);

}  // namespace kcs
