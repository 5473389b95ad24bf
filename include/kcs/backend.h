// The backend interface: one object per implementation (reference, avx512, avx2, optimized,
// plug-ins). The runner, CLI and tests only ever talk to this interface.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "kcs/cpu.h"
#include "kcs/decl.h"
#include "kcs/status.h"
#include "kcs/tensor.h"

namespace kcs {

// Chosen tile knob values for one call, as data ("row_tile=16,k_block=256"). Knobs not named
// take the declaration's default.
struct TileConfig {
  std::map<std::string, int64_t> knobs;

  static TileConfig parse(const std::string& s);  // throws kcs::Error on malformed text
  std::string name() const;                       // canonical "a=1,b=2"; "default" when empty
  int64_t get(const KernelDecl& decl, const std::string& knob) const;
};

// Every knob of `t` declared by `decl` and inside its declared range (KnobDecl::check); the
// message names the kernel, the knob and the valid range (or the kernel's knobs).
Status check_tile(const KernelDecl& decl, const TileConfig& t);

// What the reference records besides the outputs, for fixtures (spec §11): values just before
// each int8/bf16/fp16 cast, abs-dot error budgets, and stage tensors for stage-isolated tests.
struct Extras {
  TensorMap prerounding;    // keyed by the output they round into
  TensorMap budget;
  TensorMap intermediates;
};

struct Invocation {
  const KernelDecl* decl = nullptr;
  const Problem* problem = nullptr;
  TensorMap* tensors = nullptr;  // inputs, inout tensors (updated in place) and allocated outputs
  TileConfig tile;
  int threads = 1;
  Extras* extras = nullptr;  // set only when the caller wants them; backends may ignore it

  const Tensor& in(const std::string& name) const;
  Tensor& out(const std::string& name) const;
  int64_t dim(const std::string& name) const { return problem->dim(name); }
  const std::string& attr(const std::string& name) const { return problem->attr(name); }
  int64_t knob(const std::string& name) const { return tile.get(*decl, name); }
};

class Plan;

struct Availability {
  bool runnable = true;
  std::string reason;  // why not, e.g. "needs avx512_vnni"
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string name() const = 0;
  virtual std::string describe() const = 0;
  virtual Availability availability() const = 0;
  virtual bool supports(const std::string& kernel) const = 0;
  // True when no tile configuration can change what the backend computes (the reference hands
  // its kernels the default tile): a runner may then run a case once for all its tiles.
  virtual bool ignores_tiles() const { return false; }

  // Checks availability, support and the call against the declaration (dtypes, shapes, data
  // preconditions) and only then executes; nothing is written when any check fails. Exceptions
  // from execute() become a failed Status.
  Status run(const Invocation& inv);

  // Takes a kernel's weights (TensorDecl::weight) once for many calls: `inv.tensors` holds the
  // weights only, `inv.problem` the call's dimensions and attributes, `inv.threads` the threads
  // preparation may use (the tile is chosen per call). The plan packs what this backend packs (or
  // keeps a copy), so the caller's weight tensors may be freed afterwards; it must not outlive the
  // backend. Checked as run() checks a call; on failure `*plan` is left empty.
  Status prepare(const Invocation& inv, std::unique_ptr<Plan>* plan);

 protected:
  virtual Status execute(const Invocation& inv) = 0;
  // The plan of a validated prepare(). The default copies the weights and runs each call through
  // execute() with them (a kernel without packing needs nothing else).
  virtual std::unique_ptr<Plan> make_plan(const Invocation& inv);

 private:
  friend class Plan;
};

// A kernel's weights prepared by one backend (Backend::prepare), run on many calls:
//
//   std::unique_ptr<kcs::Plan> plan;
//   be->prepare({&decl, &problem, &weights, {}, threads}, &plan);  // w_dq, w_uq_qr, ... (packed)
//   plan->run({&decl, &problem, &io, tile, threads});  // token_x, cos, caches, outputs: any t
//
// Each call passes every tensor of the declaration but the weights. Its problem may change the
// dimensions that no weight's shape uses (tokens, cache blocks); the attributes and the weights'
// dimensions must be those prepared. inv.decl and inv.problem may be null: the plan's own. A call
// gives the bits of Backend::run on the same tensors. One call at a time per plan.
class Plan {
 public:
  virtual ~Plan() = default;
  const KernelDecl& decl() const { return *decl_; }
  const Problem& problem() const { return problem_; }
  // Checks the call as Backend::run does, then executes; nothing is written when a check fails.
  Status run(const Invocation& inv);

 protected:
  Plan(Backend& backend, const KernelDecl& decl, const Problem& problem);
  // A validated call; inv.decl and inv.problem are set, inv.tensors holds no weight.
  virtual Status execute(const Invocation& inv) = 0;
  // Backend::execute for plans that hand a call back to their backend.
  Status backend_execute(const Invocation& inv) { return backend_.execute(inv); }
  Backend& backend() const { return backend_; }

 private:
  Backend& backend_;
  const KernelDecl* decl_;
  Problem problem_;
  std::vector<std::string> fixed_dims_;  // the dimensions used by a weight's shape
};

// The default plan (Backend::make_plan): copies of the weights, lent to each call.
std::unique_ptr<Plan> make_copying_plan(Backend& backend, const Invocation& weights);

using KernelFn = Status (*)(const Invocation&);

// A backend that is a table of kernel functions with one availability rule.
using PrepareFn = std::unique_ptr<Plan> (*)(Backend&, const Invocation&);

class TableBackend : public Backend {
 public:
  TableBackend(std::string name, std::string describe, std::map<std::string, KernelFn> fns,
               Availability (*avail)(), std::map<std::string, PrepareFn> plans = {})
      : name_(std::move(name)), describe_(std::move(describe)), fns_(std::move(fns)), avail_(avail),
        plans_(std::move(plans)) {}
  std::string name() const override { return name_; }
  std::string describe() const override { return describe_; }
  Availability availability() const override { return avail_(); }
  bool supports(const std::string& kernel) const override { return fns_.count(kernel) != 0; }

 protected:
  Status execute(const Invocation& inv) override;
  std::unique_ptr<Plan> make_plan(const Invocation& inv) override;  // plans_, else the default

 private:
  std::string name_, describe_;
  std::map<std::string, KernelFn> fns_;
  Availability (*avail_)();
  std::map<std::string, PrepareFn> plans_;  // kernels that pack their weights
};

// reference, avx512, avx2, optimized (the best variant this CPU runs), in that order.
std::vector<std::unique_ptr<Backend>> builtin_backends();
std::unique_ptr<Backend> make_builtin_backend(const std::string& name);  // nullptr when unknown

// Provided by reference/ and optimized/.
std::unique_ptr<Backend> make_reference_backend();
std::unique_ptr<Backend> make_isa_backend(Isa isa);
std::unique_ptr<Backend> make_best_optimized_backend();

}  // namespace kcs
