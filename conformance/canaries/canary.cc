#include "conformance/canaries/canary.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <set>

#include "conformance/runner/catalog.h"

namespace kcs {

Status FaultCall::run_reference_with(const std::function<void(Problem&, TensorMap&)>& change) const {
  Problem p = *inv.problem;
  TensorMap t = *inv.tensors;
  change(p, t);
  Invocation alt{inv.decl, &p, &t, inv.tile, inv.threads, nullptr};
  Status s = reference.run(alt);
  if (!s) return s;
  // Copy into the caller's tensors, which may be views of a guarded arena: assigning a new
  // Tensor would leave the arena (what the runner reads back) unwritten.
  for (const auto& td : inv.decl->tensors)
    if (td.role != Role::in) {
      Tensor& dst = inv.tensors->at(td.name);
      const Tensor& src = t.at(td.name);
      if (dst.dtype() != src.dtype() || dst.shape() != src.shape())
        return Status::Fail(td.name + ": the changed call produced another shape or dtype");
      if (src.nbytes() > 0) std::memcpy(dst.raw(), src.raw(), src.nbytes());
    }
  return s;
}

namespace {

// The reference with one fault: what the runner sees as just another backend.
class CanaryBackend : public Backend {
 public:
  CanaryBackend(std::string kernel, const Canary& c, const Bundle& b)
      : kernel_(std::move(kernel)), canary_(c), bundle_(b), ref_(make_reference_backend()) {}
  std::string name() const override { return "canary:" + kernel_ + "/" + canary_.name; }
  std::string describe() const override { return "reference with one fault: " + canary_.fault; }
  Availability availability() const override { return ref_->availability(); }
  bool supports(const std::string& kernel) const override { return kernel == kernel_; }

 protected:
  Status execute(const Invocation& inv) override { return canary_.inject(FaultCall{inv, bundle_, *ref_}); }

 private:
  std::string kernel_;
  const Canary& canary_;
  const Bundle& bundle_;
  std::unique_ptr<Backend> ref_;
};

// Catalogs, bundles and control runs are shared by the canaries of a case.
struct Cache {
  std::mutex mu;
  std::map<std::string, Catalog> catalogs;
  std::map<std::string, std::unique_ptr<Bundle>> bundles;
  std::map<std::string, std::string> controls;  // case|tile -> "" if the reference passes, else why not
};
Cache& cache() {
  static Cache c;
  return c;
}

}  // namespace

std::vector<std::string> check_names(const KernelDecl& decl) {
  std::vector<std::string> out;
  for (const auto& td : decl.tensors) {
    if (td.role == Role::out) out.push_back(td.name);
    if (td.role == Role::inout) {
      out.push_back(td.name);
      out.push_back(td.name + ".untouched");
    }
  }
  for (const auto& inv : decl.invariants) out.push_back("invariant:" + inv.name);
  return out;
}

CanaryResult run_canary(const std::string& kernel, const Canary& c) {
  CanaryResult r;
  r.kernel = kernel;
  r.canary = c.name;
  r.fault = c.fault;
  try {
    const KernelDecl& decl = kernel_or_throw(kernel);
    Cache& k = cache();
    std::lock_guard<std::mutex> lock(k.mu);
    auto cit = k.catalogs.find(kernel);
    if (cit == k.catalogs.end()) cit = k.catalogs.emplace(kernel, load_catalog(decl)).first;
    const Catalog& cat = cit->second;
    const CaseSpec* cs = nullptr;
    for (const auto& x : cat.cases)
      if (tier_includes(Tier::ci, x.tier) && x.expect_error.empty() && glob_match(c.case_glob, x.id)) {
        cs = &x;
        break;
      }
    if (!cs) {
      r.problem = "no ci-tier case of " + kernel + " matches '" + c.case_glob + "'";
      return r;
    }
    r.case_id = cs->id;
    const TileConfig tile = c.tile.empty() ? cat.tiles.front() : TileConfig::parse(c.tile);
    r.tile = tile.name();
    auto bit = k.bundles.find(cs->id);
    if (bit == k.bundles.end()) bit = k.bundles.emplace(cs->id, std::make_unique<Bundle>(load_or_make_bundle(*cs))).first;
    const Bundle& b = *bit->second;

    const std::string ckey = cs->id + "|" + r.tile;
    auto ctl = k.controls.find(ckey);
    if (ctl == k.controls.end()) {
      auto ref = make_reference_backend();
      const RunRecord rr = run_case(*cs, b, *ref, tile, 1);
      ctl = k.controls.emplace(ckey, rr.verdict == Verdict::passed ? "" : verdict_name(rr.verdict) + (": " + rr.reason)).first;
    }
    if (!ctl->second.empty()) {
      r.problem = "control: the plain reference does not pass this case (" + ctl->second + ")";
      return r;
    }

    for (const auto& name : c.caught_by) {
      const auto names = check_names(decl);
      if (std::find(names.begin(), names.end(), name) == names.end()) {
        r.problem = "expects a check '" + name + "' that " + kernel + " does not have";
        return r;
      }
    }

    CanaryBackend be(kernel, c, b);
    const RunRecord rec = run_case(*cs, b, be, tile, 1);
    r.repro = rec.repro;
    std::set<std::string> failed;
    for (const auto& chk : rec.checks)
      if (!chk.passed) {
        failed.insert(chk.name);
        r.failed_checks.push_back(chk.name + " [" + chk.contract + "]");
      }
    if (rec.verdict == Verdict::error) {
      r.problem = "the faulty backend errored instead of returning outputs: " + rec.reason;
    } else if (rec.verdict != Verdict::failed) {
      r.problem = std::string("MISSED: the run ") + verdict_name(rec.verdict);
    } else {
      std::string missing;
      for (const auto& name : c.caught_by)
        if (!failed.count(name)) missing += (missing.empty() ? "" : ", ") + name;
      if (missing.empty())
        r.caught = true;
      else
        r.problem = "caught, but not by " + missing;
    }
  } catch (const std::exception& e) {
    r.problem = std::string("exception: ") + e.what();
  }
  return r;
}

namespace {

std::string join(const std::vector<std::string>& v, const std::string& sep) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : sep) + x;
  return s;
}

}  // namespace

int selftest_canaries(const std::vector<std::pair<std::string, Canary>>& canaries,
                      const std::vector<std::string>& coverage_kernels, std::FILE* out) {
  int bad = 0, caught = 0;
  std::map<std::string, std::vector<std::string>> covered;  // "kernel|check" -> canaries
  std::fprintf(out, "%-12s %-22s %-7s %-58s %s\n", "kernel", "canary", "verdict", "fault", "caught by (contract)");
  for (const auto& [kernel, c] : canaries) {
    const CanaryResult r = run_canary(kernel, c);
    std::fprintf(out, "%-12s %-22s %-7s %-58s %s\n", kernel.c_str(), c.name.c_str(), r.caught ? "caught" : "FAIL",
                 c.fault.c_str(), r.failed_checks.empty() ? "-" : join(r.failed_checks, ", ").c_str());
    if (r.caught) {
      ++caught;
      for (const auto& name : c.caught_by) covered[kernel + "|" + name].push_back(c.name);
    } else {
      ++bad;
      std::fprintf(out, "    ^ %s\n      case %s tile %s%s%s\n", r.problem.c_str(), r.case_id.c_str(), r.tile.c_str(),
                   r.repro.empty() ? "" : "\n      repro (with the real backend): ", r.repro.c_str());
    }
  }
  std::fprintf(out, "\ncoverage: every check of every kernel is the expected catcher of a caught canary\n");
  int uncovered = 0, pending = 0;
  const auto& pend = canaries_pending();
  for (const auto& kernel : coverage_kernels) {
    const KernelDecl& decl = kernel_or_throw(kernel);
    if (std::find(pend.begin(), pend.end(), kernel) != pend.end()) {
      bool has = false;
      for (const auto& [k, c] : canaries) has |= k == kernel;
      if (has) {
        std::fprintf(out, "  %-12s has canaries but is still listed in canaries_pending() (registry.cc): remove it\n",
                     kernel.c_str());
        ++uncovered;
      } else {
        std::fprintf(out, "  %-12s PENDING: no canaries yet (listed in canaries_pending(), conformance/canaries/registry.cc)\n",
                     kernel.c_str());
        ++pending;
      }
      continue;
    }
    for (const auto& name : check_names(decl)) {
      const auto it = covered.find(kernel + "|" + name);
      const bool ok = it != covered.end();
      std::fprintf(out, "  %-12s %-40s %s\n", kernel.c_str(), name.c_str(),
                   ok ? join(it->second, ", ").c_str()
                      : "UNCOVERED: add a canary (conformance/canaries/<kernel>.cc) that this check catches");
      if (!ok) ++uncovered;
    }
  }
  std::fprintf(out, "\n%d canaries: %d caught, %d not; %d checks uncovered", static_cast<int>(canaries.size()), caught,
               bad, uncovered);
  if (pending) std::fprintf(out, "; %d kernels PENDING (no canaries yet)", pending);
  std::fprintf(out, "\n");
  return bad || uncovered ? 1 : 0;
}

int selftest(const std::vector<std::string>& kernels, std::FILE* out) {
  std::vector<std::string> ks = kernels;
  if (ks.empty())
    for (const KernelDecl* d : all_kernels()) ks.push_back(d->id);
  std::vector<std::pair<std::string, Canary>> canaries;
  for (const auto& k : ks) {
    kernel_or_throw(k);
    for (const auto& reg : canary_registry())
      if (reg.kernel == k)
        for (auto& c : reg.make()) canaries.emplace_back(k, std::move(c));
  }
  return selftest_canaries(canaries, ks, out);
}

}  // namespace kcs
