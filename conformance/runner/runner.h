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
Bundle make_bundle_from(const CaseSpec& cs, TensorMap given);
// <bundle_dir()>/<kernel>/<case id>.h5
std::string committed_bundle_path(const CaseSpec& cs);
// The committed bundle when one exists, else make_bundle().
Bundle load_or_make_bundle(const CaseSpec& cs);

// xfail / unsupported come only from a backend's expectation list (conformance/runner/expectations.h).
// crashed, timeout and out_of_memory are faults of an isolated call (conformance/runner/isolate.h);
// flaky: a re-run or a --repeat run gave a different outcome or different bits; not_run: the
// backend was stopped (repeated crashes) before this run. Each of those five is a failure.
// outside_contract_differs: the case lies outside the kernel's contract (catalog "outside_contract")
// and the outputs differ from the reference there (conformance/runner/outside_contract.h): counted
// apart, neither a pass nor a failure.
enum class Verdict { passed, failed, skipped, error, xfail, unsupported, crashed, timeout, out_of_memory, flaky, not_run,
                     outside_contract_differs };
const char* verdict_name(Verdict v);
// True for every verdict that must make a run exit non-zero (all but passed, skipped, xfail, unsupported,
// outside_contract_differs).
bool verdict_is_failure(Verdict v);

struct RunRecord {
  std::string kernel, case_id, backend, tile;
  int threads = 1;
  Verdict verdict = Verdict::error;
  std::string reason;  // skipped: why; error: the backend's message; failed: the first failed check
  std::vector<CheckResult> checks;
  std::string repro;  // one command line that reproduces this record
  double seconds = 0;
};

// "<absolute kcs> run --case ID --backend NAME [--tile T] [--threads N]"; a backend registered with
// set_repro_backend_arg (a plug-in: "--backend-lib /abs/lib.so") is named that way instead.
std::string repro_command(const std::string& case_id, const std::string& backend, const std::string& tile,
                          int threads);
void set_repro_backend_arg(const std::string& backend, const std::string& arg);

// Poisons outputs, runs behind the guards (conformance/runner/isolate.h: in the backend's worker
// when it is isolated), scores. Never throws for a backend failure: it becomes the record. A
// failed integrity check (input written, guard byte changed, FP environment changed) comes first
// in the checks and fails the run. `outputs`, when given, receives the tensors the call produced.
RunRecord run_case(const CaseSpec& cs, const Bundle& b, Backend& backend, const TileConfig& tile, int threads,
                   TensorMap* outputs = nullptr);

// Scores outputs computed by anyone (a backend call or an external program through `kcs check`):
// `actual` holds every out tensor and the after-state of every inout tensor.
std::vector<CheckResult> score_outputs(const KernelDecl& decl, const Bundle& b, const TensorMap& actual);

}  // namespace kcs
