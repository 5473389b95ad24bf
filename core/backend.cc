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

Status TableBackend::execute(const Invocation& inv) {
  auto it = fns_.find(inv.decl->id);
  if (it == fns_.end()) return Status::Fail("backend " + name_ + " does not implement kernel " + inv.decl->id);
  return it->second(inv);
}

}  // namespace kcs
