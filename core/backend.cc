#include "kcs/backend.h"

#include <cctype>
#include <sstream>

namespace kcs {

TileConfig TileConfig::parse(const std::string& s) {
  TileConfig t;
  if (s.empty() || s == "default") return t;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) {
    size_t eq = item.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == item.size())
      throw Error("malformed tile config '" + s + "': expected knob=value[,knob=value...]");
    std::string key = item.substr(0, eq), val = item.substr(eq + 1);
    size_t used = 0;
    long long v = 0;
    try {
      v = std::stoll(val, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != val.size()) throw Error("tile knob " + key + " = '" + val + "' is not an integer");
    if (t.knobs.count(key)) throw Error("tile knob " + key + " given twice in '" + s + "'");
    t.knobs[key] = v;
  }
  return t;
}

std::string TileConfig::name() const {
  if (knobs.empty()) return "default";
  std::string out;
  for (const auto& [k, v] : knobs) out += (out.empty() ? "" : ",") + k + "=" + std::to_string(v);
  return out;
}

int64_t TileConfig::get(const KernelDecl& decl, const std::string& knob) const {
  auto it = knobs.find(knob);
  if (it != knobs.end()) return it->second;
  const KnobDecl* k = decl.find_knob(knob);
  if (!k) throw Error("kernel " + decl.id + " has no tile knob '" + knob + "'");
  return k->default_value;
}

Status check_tile(const KernelDecl& decl, const TileConfig& t) {
  for (const auto& [k, v] : t.knobs) {
    const KnobDecl* kd = decl.find_knob(k);
    if (!kd) {
      std::string known;
      for (const auto& d : decl.knobs) known += (known.empty() ? "" : ", ") + d.name;
      return Status::Fail("kernel " + decl.id + " has no tile knob '" + k + "' (its knobs: " +
                          (known.empty() ? "none" : known) + ")");
    }
    Status s = kd->check(v);
    if (!s) return Status::Fail("kernel " + decl.id + ": " + s.message);
  }
  return Status::Ok();
}

const Tensor& Invocation::in(const std::string& name) const {
  auto it = tensors->find(name);
  if (it == tensors->end()) throw Error("tensor '" + name + "' is missing");
  return it->second;
}

Tensor& Invocation::out(const std::string& name) const {
  auto it = tensors->find(name);
  if (it == tensors->end()) throw Error("tensor '" + name + "' is missing");
  return it->second;
}

Status Backend::run(const Invocation& inv) {
  if (!inv.decl || !inv.problem || !inv.tensors) return Status::Fail("incomplete invocation");
  Availability a = availability();
  if (!a.runnable) return Status::Fail("backend " + name() + " cannot run on this CPU: " + a.reason);
  if (!supports(inv.decl->id)) return Status::Fail("backend " + name() + " does not implement kernel " + inv.decl->id);
  if (inv.threads < 1) return Status::Fail("threads must be >= 1");
  // Every backend entry point (built-ins, plug-ins, the gtest suites) passes here: no backend
  // ever sees an undeclared knob or a value outside its declared range.
  if (Status s = check_tile(*inv.decl, inv.tile); !s) return s;
  try {
    Status s = validate_call(*inv.decl, *inv.problem, *inv.tensors);
    if (!s) return s;
    return execute(inv);
  } catch (const std::exception& e) {
    return Status::Fail(std::string("backend ") + name() + ": " + e.what());
  }
}

Status Backend::prepare(const Invocation& inv, std::unique_ptr<Plan>* plan) {
  if (!plan) return Status::Fail("prepare: no plan to fill");
  plan->reset();
  if (!inv.decl || !inv.problem || !inv.tensors) return Status::Fail("incomplete invocation");
  Availability a = availability();
  if (!a.runnable) return Status::Fail("backend " + name() + " cannot run on this CPU: " + a.reason);
  if (!supports(inv.decl->id)) return Status::Fail("backend " + name() + " does not implement kernel " + inv.decl->id);
  if (inv.threads < 1) return Status::Fail("threads must be >= 1");
  try {
    if (Status s = validate_problem(*inv.decl, *inv.problem); !s) return s;
    if (Status s = validate_tensors(*inv.decl, *inv.problem, *inv.tensors, TensorSet::weights); !s) return s;
    std::unique_ptr<Plan> p = make_plan(inv);
    if (!p) return Status::Fail("backend " + name() + " made no plan for kernel " + inv.decl->id);
    *plan = std::move(p);
    return Status::Ok();
  } catch (const std::exception& e) {
    return Status::Fail(std::string("backend ") + name() + ": " + e.what());
  }
}

std::unique_ptr<Plan> Backend::make_plan(const Invocation& inv) { return make_copying_plan(*this, inv); }

Plan::Plan(Backend& backend, const KernelDecl& decl, const Problem& problem)
    : backend_(backend), decl_(&decl), problem_(problem) {
  for (const auto& d : decl.dims) {
    bool used = false;
    for (const auto& t : decl.tensors)
      if (t.weight)
        for (const auto& e : t.shape) used |= DimExpr::parse(e).dim == d.name;
    if (used) fixed_dims_.push_back(d.name);
  }
}

Status Plan::run(const Invocation& call) {
  if (!call.tensors) return Status::Fail("incomplete invocation: no tensors");
  if (call.decl && call.decl->id != decl_->id)
    return Status::Fail("the plan is for kernel " + decl_->id + ", the call for " + call.decl->id);
  if (call.threads < 1) return Status::Fail("threads must be >= 1");
  if (Status s = check_tile(*decl_, call.tile); !s) return s;
  // A copy only where the call leaves decl or problem to the plan.
  Invocation filled;
  const bool own = call.decl == nullptr || call.problem == nullptr;
  if (own) {
    filled = call;
    filled.decl = decl_;
    if (!filled.problem) filled.problem = &problem_;
  }
  const Invocation& inv = own ? filled : call;
  const Problem& p = *inv.problem;
  try {
    if (&p != &problem_) {
      if (Status s = validate_problem(*decl_, p); !s) return s;
      if (p.attrs != problem_.attrs)
        for (const auto& [name, v] : problem_.attrs)
          if (p.attrs.at(name) != v)
            return Status::Fail("kernel " + decl_->id + ": attribute " + name + " = '" + p.attrs.at(name) +
                                "' differs from the plan's '" + v + "' (prepare a plan per attribute set)");
      for (const auto& d : fixed_dims_)
        if (p.dims.at(d) != problem_.dims.at(d))
          return Status::Fail("kernel " + decl_->id + ": dimension " + d + " = " + std::to_string(p.dims.at(d)) +
                              " differs from the plan's " + std::to_string(problem_.dims.at(d)) +
                              " (a weight's shape uses it)");
    }
    if (Status s = validate_tensors(*decl_, p, *inv.tensors, TensorSet::non_weights); !s) return s;
    return execute(inv);
  } catch (const std::exception& e) {
    return Status::Fail("backend " + backend_.name() + ": " + e.what());
  }
}

namespace {

// Copies of the weights; each call borrows views of them into its tensor map (node handles moved
// in and back: no allocation per call) and runs the backend's execute().
class CopyingPlan : public Plan {
 public:
  CopyingPlan(Backend& b, const Invocation& inv) : Plan(b, *inv.decl, *inv.problem) {
    for (const auto& td : inv.decl->tensors)
      if (td.weight) {
        Tensor& w = weights_.emplace(td.name, inv.tensors->at(td.name)).first->second;
        views_.emplace(td.name, Tensor::view(w.dtype(), w.shape(), w.raw()));
      }
  }

 protected:
  Status execute(const Invocation& inv) override {
    TensorMap& t = *inv.tensors;
    struct Lend {
      TensorMap& from;
      TensorMap& to;
      const TensorMap& names;
      ~Lend() {
        for (const auto& kv : names)
          if (auto node = to.extract(kv.first)) from.insert(std::move(node));
      }
    };
    Lend lend{views_, t, weights_};
    for (const auto& kv : weights_) t.insert(views_.extract(kv.first));
    return backend_execute(inv);
  }

 private:
  TensorMap weights_, views_;
};

}  // namespace

std::unique_ptr<Plan> make_copying_plan(Backend& backend, const Invocation& weights) {
  return std::make_unique<CopyingPlan>(backend, weights);
}

Status TableBackend::execute(const Invocation& inv) {
  auto it = fns_.find(inv.decl->id);
  if (it == fns_.end()) return Status::Fail("backend " + name_ + " does not implement kernel " + inv.decl->id);
  return it->second(inv);
}

std::unique_ptr<Plan> TableBackend::make_plan(const Invocation& inv) {
  auto it = plans_.find(inv.decl->id);
  if (it == plans_.end()) return Backend::make_plan(inv);
  return it->second(*this, inv);
}

}  // namespace kcs
