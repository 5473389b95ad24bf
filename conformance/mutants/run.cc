// Runs the mutants and controls through the ordinary runner and prints the mutation score.
#include <algorithm>
#include <chrono>
#include <fstream>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "conformance/compare/diagnosis.h"
#include "conformance/mutants/cases.h"
#include "conformance/mutants/mutants.h"

namespace kcs {

namespace {

// The reference with one semantic change: what the runner sees as just another backend.
class MutantBackend : public Backend {
 public:
  MutantBackend(const Mutant& m, const Bundle& b) : m_(m), bundle_(b), ref_(make_reference_backend()) {}
  std::string name() const override { return "mutant:" + m_.kernel + "/" + m_.name; }
  std::string describe() const override { return "reference with one semantic change: " + m_.what; }
  Availability availability() const override { return ref_->availability(); }
  bool supports(const std::string& kernel) const override { return kernel == m_.kernel; }

 protected:
  Status execute(const Invocation& inv) override { return m_.run(FaultCall{inv, bundle_, *ref_}); }

 private:
  const Mutant& m_;
  const Bundle& bundle_;
  std::unique_ptr<Backend> ref_;
};

MutantResult::Outcome listed_outcome(const KnownEscape& k) {
  switch (k.kind) {
    case EscapeKind::equivalent: return MutantResult::Outcome::equivalent;
    case EscapeKind::undetectable: return MutantResult::Outcome::undetectable;
    case EscapeKind::open: break;
  }
  return MutantResult::Outcome::known_escape;
}

const char* kind_name(EscapeKind k) {
  return k == EscapeKind::open ? "open" : k == EscapeKind::equivalent ? "equivalent" : "undetectable";
}

// What each known.cc entry matched in this run (staleness).
struct EntryUse {
  int matched = 0, escaped = 0, caught = 0;
};

// The kernel a glob names ("" when its kernel part has a wildcard).
std::string glob_kernel(const std::string& glob) {
  const size_t slash = glob.find('/');
  const std::string k = glob.substr(0, slash);
  return k.find_first_of("*?[") == std::string::npos ? k : "";
}

bool changed_something(const RunRecord& r) {
  for (const auto& c : r.checks)
    if (!c.passed || c.metrics.mismatches > 0) return true;
  return false;
}

MutantResult evaluate(const Mutant& m, const std::string& witness, bool quick, bool explain) {
  MutantResult r;
  r.mutant = m;
  // Quick runs do not re-prove the equivalent and undetectable entries over every case (the full
  // run does); open escapes are re-run, so that a fixed one is noticed.
  const KnownEscape* known = m.control ? nullptr : find_known_escape(m.kernel + "/" + m.name);
  if (quick && witness.empty() && known && known->kind != EscapeKind::open) {
    r.outcome = listed_outcome(*known);
    r.message = known->reason + " (not re-run: --quick)";
    return r;
  }
  std::vector<const CaseSpec*> cases;
  for (const CaseSpec* cs : mutants::ci_cases(m.kernel))
    if (m.case_glob.empty() || glob_match(m.case_glob, cs->id)) cases.push_back(cs);
  if (!witness.empty()) {
    auto it = std::find_if(cases.begin(), cases.end(), [&](const CaseSpec* c) { return c->id == witness; });
    if (it != cases.end()) {
      std::rotate(cases.begin(), it, it + 1);
      if (quick) cases.resize(1);
    }
  }
  // Quick runs keep a control to the first cases (the full run covers every case).
  if (quick && m.control && cases.size() > 3) cases.resize(3);
  std::string error;
  std::vector<std::pair<std::map<std::string, std::string>, bool>> seen;
  for (const CaseSpec* cs : cases) {
    const Bundle& b = mutants::bundle_of(*cs);
    MutantBackend be(m, b);
    const RunRecord rec = run_case(*cs, b, be, mutants::default_tile(m.kernel), 1);
    ++r.cases_run;
    if (rec.verdict == Verdict::error) {
      // The mutated call was rejected (an attribute value that this case's shapes cannot take):
      // that case says nothing about the mutant.
      if (error.empty()) error = cs->id + ": " + rec.reason;
      continue;
    }
    if (changed_something(rec)) ++r.cases_changed;
    seen.push_back({cs->problem.attrs, rec.verdict == Verdict::failed});
    if (rec.verdict == Verdict::failed && explain && r.case_id.empty()) {
      r.case_id = cs->id;
      for (const auto& c : rec.checks)
        if (!c.passed) {
          r.failed_checks.push_back(c.name + " [" + c.contract + "]");
          if (r.message.empty()) r.message = c.message;
          if (r.diagnosis.empty()) r.diagnosis = c.diagnosis;
        }
      continue;
    }
    if (rec.verdict == Verdict::failed && !explain) {
      r.case_id = cs->id;
      for (const auto& c : rec.checks)
        if (!c.passed) {
          r.failed_checks.push_back(c.name + " [" + c.contract + "]");
          if (r.message.empty()) r.message = c.message;
          if (r.diagnosis.empty()) r.diagnosis = c.diagnosis;
        }
      r.outcome = m.control ? MutantResult::Outcome::control_failed : MutantResult::Outcome::caught;
      // Caught although listed as equivalent or undetectable: the entry's argument is wrong. (A
      // caught mutant under an open entry counts as caught; the entry is stale once none of its
      // mutants escapes: run_mutants.)
      if (known && known->kind != EscapeKind::open) r.outcome = MutantResult::Outcome::stale;
      return r;
    }
  }
  if (explain && !r.case_id.empty()) {
    r.across = diagnose_attribute(seen);
    r.outcome = m.control ? MutantResult::Outcome::control_failed : MutantResult::Outcome::caught;
    if (known && known->kind != EscapeKind::open) r.outcome = MutantResult::Outcome::stale;
    return r;
  }
  if (m.control) {
    r.outcome = MutantResult::Outcome::control_passed;
    return r;
  }
  if (known) {
    r.outcome = listed_outcome(*known);
    r.message = known->reason;
    return r;
  }
  r.outcome = MutantResult::Outcome::escaped;
  r.message = r.cases_changed == 0 ? "no ci case changes any output" : "changes outputs of " +
                                                                         std::to_string(r.cases_changed) +
                                                                         " ci cases, all within their contracts";
  if (!error.empty()) r.message += "; rejected on " + error;
  return r;
}

struct Row {
  int mutants = 0, caught = 0, escaped = 0, known = 0, equivalent = 0, undetectable = 0, controls = 0,
      controls_passed = 0;
};

}  // namespace

int run_mutants(const MutantOptions& o, std::FILE* out) {
  std::vector<std::string> ks = o.kernels;
  if (ks.empty())
    for (const KernelDecl* d : all_kernels()) ks.push_back(d->id);
  const std::vector<KnownEscape>& entries = known_escapes();
  for (const auto& e : entries)
    if (e.kind == EscapeKind::undetectable && e.reason.find("correct") == std::string::npos)
      throw Error("conformance/mutants/known.cc: the undetectable entry " + e.glob +
                  " must say why a correct backend can produce the same difference");
  std::map<std::string, std::string> witness;
  if (!o.witnesses_in.empty()) {
    std::ifstream f(o.witnesses_in);
    if (!f) throw Error("cannot read the witnesses file " + o.witnesses_in);
    const nlohmann::json j = nlohmann::json::parse(f);
    for (const auto& [k, v] : j.items()) witness[k] = v.get<std::string>();
  }
  nlohmann::json found = nlohmann::json::object();
  std::map<std::string, Row> rows;
  std::vector<MutantResult> bad, all;
  std::vector<EntryUse> use(entries.size());
  const auto t0 = std::chrono::steady_clock::now();
  for (const auto& k : ks) {
    const auto tk = std::chrono::steady_clock::now();
    Row& row = rows[k];
    // Quick runs discover the cast points on the witness cases only (plus the first case).
    std::set<std::string> wcases;
    if (o.quick) {
      for (const auto& [key, cid] : witness)
        if (key.compare(0, k.size() + 1, k + "/") == 0) wcases.insert(cid);
      if (!mutants::ci_cases(k).empty()) wcases.insert(mutants::ci_cases(k).front()->id);
    }
    for (const Mutant& m : kernel_mutants(k, o.quick ? &wcases : nullptr)) {
      const std::string key = k + "/" + m.name;
      if (!o.name_glob.empty() && !glob_match(o.name_glob, key)) continue;
      const auto wit = witness.find(key);
      const MutantResult r = evaluate(m, wit == witness.end() ? "" : wit->second, o.quick, o.explain);
      std::string r2msg;
      all.push_back(r);
      using O = MutantResult::Outcome;
      if (!m.control)
        if (const KnownEscape* e = find_known_escape(key)) {
          EntryUse& u = use[static_cast<size_t>(e - entries.data())];
          ++u.matched;
          if (r.outcome == O::known_escape || r.outcome == O::equivalent || r.outcome == O::undetectable) ++u.escaped;
          if (r.outcome == O::caught || r.outcome == O::stale) ++u.caught;
        }
      switch (r.outcome) {
        case O::caught: ++row.mutants, ++row.caught; found[key] = r.case_id; break;
        case O::stale: ++row.mutants, ++row.caught; found[key] = r.case_id; bad.push_back(r); break;
        case O::escaped: ++row.mutants, ++row.escaped; bad.push_back(r); break;
        case O::known_escape: ++row.mutants, ++row.escaped, ++row.known; break;
        case O::equivalent: ++row.equivalent; break;
        case O::undetectable: ++row.undetectable; break;
        case O::control_passed: ++row.controls, ++row.controls_passed; break;
        case O::control_failed: ++row.controls; bad.push_back(r); break;
      }
      if (o.verbose || r.outcome == O::escaped || r.outcome == O::control_failed || r.outcome == O::stale) {
        const char* v = r.outcome == O::caught           ? "caught"
                        : r.outcome == O::stale          ? "STALE"
                        : r.outcome == O::escaped        ? "ESCAPED"
                        : r.outcome == O::known_escape   ? "known escape"
                        : r.outcome == O::equivalent     ? "equivalent"
                        : r.outcome == O::undetectable   ? "undetectable"
                        : r.outcome == O::control_passed ? "control ok"
                                                         : "CONTROL FAILED";
        if (r.outcome == O::stale)
          r2msg = r.case_id + ": caught, but listed in conformance/mutants/known.cc as equivalent or undetectable: "
                              "the entry's argument is wrong";
        std::fprintf(out, "%-14s %-52s %-14s %s\n", k.c_str(), m.name.c_str(), v,
                     !r2msg.empty() ? r2msg.c_str()
                     : r.outcome == O::caught ? (r.case_id + ": " + r.message).c_str() : r.message.c_str());
        if (!r.diagnosis.empty()) std::fprintf(out, "%-14s %-52s %-14s diagnosis: %s\n", "", "", "", r.diagnosis.c_str());
        if (!r.across.empty()) std::fprintf(out, "%-14s %-52s %-14s across cases: %s\n", "", "", "", r.across.c_str());
      }
    }
    const double sk = std::chrono::duration<double>(std::chrono::steady_clock::now() - tk).count();
    std::fprintf(out,
                 "# %s: %d mutants, %d caught, %d escaped (%d known), %d equivalent, %d undetectable, controls %d/%d "
                 "(%.1f s)\n",
                 k.c_str(), row.mutants, row.caught, row.escaped, row.known, row.equivalent, row.undetectable,
                 row.controls_passed, row.controls, sk);
    std::fflush(out);
    mutants::drop_bundles();
  }
  // Stale entries: an open entry none of whose mutants escapes; any entry that names no mutant of
  // this run although every mutant it could name was enumerated (all of its kernels, no --mutant
  // filter).
  std::vector<std::string> stale;
  const std::set<std::string> ran(ks.begin(), ks.end());
  for (size_t i = 0; i < entries.size(); ++i) {
    const KnownEscape& e = entries[i];
    const EntryUse& u = use[i];
    const std::string gk = glob_kernel(e.glob);
    const bool complete = o.name_glob.empty() && (gk.empty() ? o.kernels.empty() : ran.count(gk) > 0);
    std::string why;
    if (e.kind == EscapeKind::open && u.matched > 0 && u.escaped == 0)
      why = "open, but all " + std::to_string(u.matched) + " mutants it names are caught: remove the entry";
    else if (u.matched == 0 && complete)
      why = "names no mutant: remove the entry or fix its glob";
    if (why.empty()) continue;
    stale.push_back("\"" + e.glob + "\" (" + kind_name(e.kind) + "): " + why);
    std::fprintf(out, "STALE known.cc entry %s\n", stale.back().c_str());
  }
  std::fprintf(out, "\n%-14s %8s %7s %8s %6s %11s %13s %9s\n", "kernel", "mutants", "caught", "escaped", "known",
               "equivalent", "undetectable", "controls");
  Row total;
  for (const auto& k : ks) {
    const Row& r = rows[k];
    std::fprintf(out, "%-14s %8d %7d %8d %6d %11d %13d %5d/%-3d\n", k.c_str(), r.mutants, r.caught, r.escaped, r.known,
                 r.equivalent, r.undetectable, r.controls_passed, r.controls);
    total.mutants += r.mutants, total.caught += r.caught, total.escaped += r.escaped, total.known += r.known;
    total.equivalent += r.equivalent, total.undetectable += r.undetectable, total.controls += r.controls;
    total.controls_passed += r.controls_passed;
  }
  std::fprintf(out, "%-14s %8d %7d %8d %6d %11d %13d %5d/%-3d   (%.0f s)\n", "total", total.mutants, total.caught,
               total.escaped, total.known, total.equivalent, total.undetectable, total.controls_passed, total.controls,
               std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  if (!o.html_out.empty()) {
    std::vector<MutantScoreRow> hr;
    for (const auto& k : ks) {
      const Row& r = rows[k];
      hr.push_back({k, r.mutants, r.caught, r.escaped, r.known, r.equivalent, r.undetectable, r.controls,
                    r.controls_passed});
    }
    write_mutants_html(o.html_out, hr, all, stale);
    std::fprintf(out, "html: %s\n", o.html_out.c_str());
  }
  if (!o.witnesses_out.empty()) {
    std::ofstream f(o.witnesses_out);
    f << found.dump(1) << "\n";
    if (!f) throw Error("cannot write " + o.witnesses_out);
  }
  return bad.empty() && stale.empty() ? 0 : 1;
}

}  // namespace kcs
