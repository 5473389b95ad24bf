// Fault-injection canaries (DESIGN "Tests"): backends that wrap the reference and inject exactly
// one fault each (a code off by 2, a scale 1 ULP off, a write to an untouched cache row, a RoPE
// sign flip, ...). Each canary names the catalog case it runs on and the checks that must catch
// it; `kcs selftest` runs them all through the ordinary runner (run_case), prints which contract
// caught which canary, and fails when a canary slips through or a kernel's check has no canary.
// A contract that catches nothing is a defect: this is how we know ours catch something.
//
// Adding canaries for a kernel (docs/adding-a-kernel.md): write conformance/canaries/<id>.cc with
// `std::vector<Canary> <id>_canaries()` and add one line to conformance/canaries/registry.cc.
#pragma once

#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "conformance/fixture/bundle.h"
#include "conformance/runner/runner.h"
#include "kcs/backend.h"

namespace kcs {

// What a fault function gets: the call the runner made (outputs poisoned, inputs and inout
// before-states in place), the case's reference bundle (to pick an element where a fault is
// visible), and the reference backend it wraps.
struct FaultCall {
  const Invocation& inv;
  const Bundle& bundle;
  Backend& reference;

  // The reference on the call as it is.
  Status run_reference() const { return reference.run(inv); }
  // The reference on a changed problem (attributes) and/or changed inputs; the results land in
  // the call's out/inout tensors. This is how "wrong mode" faults are made (rotate-half instead
  // of pairs, ties away instead of even, a negated sine table).
  Status run_reference_with(const std::function<void(Problem&, TensorMap&)>& change) const;
  Tensor& out(const std::string& name) const { return inv.out(name); }
};

using FaultFn = std::function<Status(const FaultCall&)>;

struct Canary {
  std::string name;   // unique within its kernel, e.g. "code_off_by_2"
  std::string fault;  // the fault in words (the canary kinds where one applies)
  // Catalog case id glob; the first matching case of the ci tier (smoke included) that expects
  // no error is used. Keep it small: selftest runs in CI.
  std::string case_glob;
  std::string tile;                    // tile configuration; empty = the catalog's first
  std::vector<std::string> caught_by;  // every one must fail: output name, "<inout>.untouched", "invariant:<name>"
  FaultFn inject;
};

struct KernelCanaries {
  std::string kernel;
  std::vector<Canary> (*make)();
};
// conformance/canaries/registry.cc: one line per kernel.
const std::vector<KernelCanaries>& canary_registry();
// Kernels declared before their canaries were written (registry.cc): selftest lists them as
// PENDING instead of failing on their uncovered checks, and fails once one of them has canaries
// but is still listed. Ids that are not declared kernels are ignored.
const std::vector<std::string>& canaries_pending();

// The names of the checks score_outputs() produces for a kernel: every out tensor, every inout
// tensor and its ".untouched", every "invariant:<name>". Each needs at least one canary.
std::vector<std::string> check_names(const KernelDecl& decl);

struct CanaryResult {
  std::string kernel, canary, fault, case_id, tile;
  bool caught = false;           // the run failed and every expected check failed
  std::vector<std::string> failed_checks;  // "name [contract]" of every failed check
  std::string problem;           // why it does not count when !caught (missed, wrong check, error, ...)
  std::string repro;
};

// Runs one canary (and, once per case and tile, the plain reference as a control: a canary on a
// case the reference itself fails proves nothing). Never throws.
CanaryResult run_canary(const std::string& kernel, const Canary& c);

// Runs the canaries of `kernels` (empty = every kernel declared), prints the table and the
// coverage of every check, and returns 0 only if every canary was caught by its checks and every
// check of every selected kernel is the expected catcher of at least one caught canary.
int selftest(const std::vector<std::string>& kernels, std::FILE* out);
// The same over explicit canaries (tests use it to prove a canary that is not caught fails).
int selftest_canaries(const std::vector<std::pair<std::string, Canary>>& canaries,
                      const std::vector<std::string>& coverage_kernels, std::FILE* out);

}  // namespace kcs
