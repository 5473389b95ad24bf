// Stage-isolated checks of fused kernels (spec §10.4, tier A): each stage of a fused call is run
// alone, as its primitive kernel, on the backend under test, fed the stage input the fused
// reference recorded. A failing fused case then names the first stage that diverges.
//
// A kernel describes its stages from its reference bundle (conformance/stages/<id>.cc): the
// primitive's problem and, for each primitive tensor, the fused tensor it binds to. A binding is
// looked up in the fused bundle's inputs, inout before-states, intermediates, then outputs; the
// primitive's outputs (and inout after-states) bound to fused tensors are checked bit-exact
// against the fused reference (the fused reference is composed of the primitive references),
// then the backend's stage result is scored with the primitive's contracts.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "conformance/fixture/bundle.h"
#include "conformance/runner/runner.h"

namespace kcs {

struct Stage {
  std::string name;  // the spec's step name, e.g. "q_norm"
  Problem problem;   // problem.kernel = the primitive's id; attribute defaults are filled in
  // primitive tensor name -> fused bundle tensor name (input, inout, intermediate or output)
  std::map<std::string, std::string> bind;
  // primitive outputs (or inout after-states) whose fused counterpart is not bit-equal by design
  // (e.g. the fused reference keeps a binary64 value the primitive stores as fp32): named here
  // with the reason, they are scored but not compared with the fused tensor.
  std::map<std::string, std::string> not_composed;
};

using StagesFn = std::vector<Stage> (*)(const Bundle& fused);

// nullptr for a kernel without stages (primitives).
StagesFn find_stages(const std::string& kernel);

// The fused tensor names the stages of `p.kernel` bind (empty for primitives): the only
// /intermediates datasets a bundle reader opens (read_bundle's IntermediateNames).
std::vector<std::string> stage_intermediates(const Problem& p);

// The primitive bundle of one stage: inputs taken from the fused bundle, expected outputs from the
// primitive reference. Throws kcs::Error naming the stage and tensor when a binding is missing or
// has the wrong dtype/shape.
Bundle make_stage_bundle(const Stage& st, const Bundle& fused);

struct StageRecord {
  std::string stage;
  std::vector<CheckResult> composition;  // primitive reference vs fused reference, bit-exact
  RunRecord run;                          // the backend on the stage alone
  bool passed() const;
};

// The stage bundles of one fused case (each a primitive reference run), kept by the caller so
// that every backend reuses them: `error` names a stage whose bindings failed.
struct StageBundles {
  std::string case_id;
  struct One {
    Bundle bundle;
    std::string error;
  };
  std::vector<One> stages;
};

// Every stage of a fused case on one backend, in order, each with the primitive's default tile
// configuration (the primitives' own suites sweep their tiles). Never throws for backend failures.
// `reuse`, when given, holds the stage bundles of the last case it was given (made when the case differs).
std::vector<StageRecord> run_stages(const CaseSpec& fused_case, const Bundle& fused, Backend& backend, int threads,
                                    StageBundles* reuse = nullptr);

}  // namespace kcs
