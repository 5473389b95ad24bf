// The systematic mutants: every named cast point of the reference with each other rounding mode,
// every attribute ignored (one value always used).
#include <algorithm>
#include <set>

#include "conformance/mutants/cases.h"
#include "conformance/mutants/mutants.h"
#include "reference/cast_points.h"

namespace kcs {

namespace {

// Sets the thread's cast mutation for one reference call and always clears it again.
class MutationGuard {
 public:
  MutationGuard(const std::string& site, Round r, bool record) {
    ref::CastMutation& m = ref::g_cast_mutation;
    m = ref::CastMutation{};
    m.active = true;
    m.site = site;
    m.round = r;
    m.record = record;
  }
  ~MutationGuard() { ref::g_cast_mutation = ref::CastMutation{}; }
  MutationGuard(const MutationGuard&) = delete;
  MutationGuard& operator=(const MutationGuard&) = delete;
};

// Runs the reference on every ci case of the kernel with discovery on: the sites it reaches and
// their declared modes.
std::map<std::string, Round> discover_sites(const std::string& kernel, const std::set<std::string>* only) {
  std::map<std::string, Round> sites;
  auto ref = make_reference_backend();
  const KernelDecl& decl = kernel_or_throw(kernel);
  for (const CaseSpec* cs : mutants::ci_cases(kernel)) {
    if (only && !only->count(cs->id)) continue;
    const Bundle& b = mutants::bundle_of(*cs);
    TensorMap call = b.inputs;
    for (const auto& [name, t] : b.inout_before) call[name] = t;
    for (const auto& td : decl.tensors)
      if (td.role == Role::out) call[td.name] = make_tensor(decl, b.problem, td.name);
    Invocation inv{&decl, &b.problem, &call, mutants::default_tile(kernel), 1};
    std::map<std::string, Round> seen;
    {
      MutationGuard g("", Round::rint, true);
      (void)ref->run(inv);
      seen = ref::g_cast_mutation.seen;
    }
    sites.insert(seen.begin(), seen.end());
  }
  return sites;
}

const char* mode_words(Round r) {
  switch (r) {
    case Round::rint: return "rounds ties to even";
    case Round::rhaz: return "rounds ties away from zero";
    case Round::trunc: return "truncates (rounds toward zero)";
  }
  return "?";
}

std::vector<Mutant> cast_mutants(const std::string& kernel, const std::set<std::string>* only) {
  std::vector<Mutant> v;
  for (const auto& [site, declared] : discover_sites(kernel, only)) {
    for (Round r : {Round::rint, Round::rhaz, Round::trunc}) {
      if (r == declared) continue;
      Mutant m;
      m.kernel = kernel;
      m.family = "cast";
      m.name = "cast:" + site + "=" + round_name(r);
      m.what = "cast point " + site + " " + mode_words(r) + " instead of " + round_name(declared);
      m.run = [site = site, r](const FaultCall& fc) {
        MutationGuard g(site, r, false);
        return fc.run_reference();
      };
      v.push_back(std::move(m));
    }
  }
  return v;
}

std::vector<Mutant> attr_mutants(const std::string& kernel) {
  const KernelDecl& decl = kernel_or_throw(kernel);
  std::set<std::string> dtype_attrs;
  for (const auto& td : decl.tensors)
    if (!td.dtype_attr.empty()) dtype_attrs.insert(td.dtype_attr);
  std::vector<Mutant> v;
  auto add = [&](const std::string& attr, const std::string& value, const std::string& what) {
    Mutant m;
    m.kernel = kernel;
    m.family = "attr";
    m.name = "attr:" + attr + "=" + value;
    m.what = what;
    m.run = [attr, value](const FaultCall& fc) {
      return fc.run_reference_with([&](Problem& p, TensorMap&) { p.attrs[attr] = value; });
    };
    v.push_back(std::move(m));
  };
  for (const auto& a : decl.attrs) {
    // A dtype selector changes the tensors' storage: a backend ignoring it reads garbage, which
    // the call validation rejects before the reference runs; not a semantic mutant.
    if (dtype_attrs.count(a.name)) continue;
    // The compressor's variant fixes which tensors and dims exist (csa vs hca shapes); a call with
    // the other variant's shapes is not a semantic mutant (and today's validation lets it reach an
    // integer division by zero in the reference: see the mutants report).
    if (kernel == "compressor" && a.name == "variant") continue;
    if (a.kind == AttrDecl::Kind::choice) {
      for (const auto& c : a.choices) add(a.name, c, a.name + " ignored: always " + c);
    } else if (!a.default_value.empty()) {
      add(a.name, a.default_value, a.name + " ignored: always the default " + a.default_value);
    }
  }
  return v;
}

}  // namespace

std::vector<Mutant> kernel_mutants(const std::string& kernel, const std::set<std::string>* discover_on) {
  std::vector<Mutant> v = cast_mutants(kernel, discover_on);
  for (auto& m : attr_mutants(kernel)) v.push_back(std::move(m));
  for (auto& m : hand_mutants(kernel)) v.push_back(std::move(m));
  // Control of the harness itself: the reference through run_reference_with with no change must
  // pass every case (a harness that corrupts the call, e.g. poisons an inout's bytes, fails here).
  Mutant c;
  c.kernel = kernel;
  c.family = "control";
  c.control = true;
  c.name = "control:reference_no_op";
  c.what = "the reference through the mutant harness (run_reference_with) with no change";
  c.run = [](const FaultCall& fc) { return fc.run_reference_with([](Problem&, TensorMap&) {}); };
  v.push_back(std::move(c));
  return v;
}

}  // namespace kcs
