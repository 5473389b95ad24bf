// Semantic mutants (issue 19): backends with a plausible wrong semantics that the ci tier must
// catch, and controls (variations the spec allows) that it must pass. Unlike the canaries, which
// inject a fault into an output, a mutant is the reference computing something subtly different:
// * cast:    one named cast / rounding point of the reference (reference/cast_points.h) rounds
//            toward zero, ties away or ties to even instead of its declared mode;
// * attr:    one attribute ignored (the backend always uses one value: the default, or another
//            choice of a mode);
// * hand:    hand-written families the enumeration cannot reach (RoPE layout, scatter index
//            handling, top-k tail, transposed Hadamard, eps outside the sqrt, ...).
// A mutant is caught when some ci-tier case fails; `kcs selftest --mutants` prints the score per
// kernel and fails when a mutant escapes or a control fails.
#pragma once

#include <cstdio>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "conformance/canaries/canary.h"

namespace kcs {

struct Mutant {
  std::string kernel;
  std::string name;    // unique within the kernel: "cast:rmsnorm.y_bf16=trunc", "attr:eps=1e-6", "hand:..."
  std::string family;  // cast, attr, hand, control
  std::string what;    // in words
  bool control = false;
  std::string case_glob;  // empty = every ci case; a control may name the cases it applies to
  FaultFn run;
};

// Every mutant and control of `kernel`: the cast points found by running the reference on the
// kernel's ci cases with discovery on, the attributes of its declaration, its hand-written families.
// With `discover_on`, the cast points are discovered on those cases only (quick runs).
std::vector<Mutant> kernel_mutants(const std::string& kernel, const std::set<std::string>* discover_on = nullptr);
// conformance/mutants/families.cc
std::vector<Mutant> hand_mutants(const std::string& kernel);

// Mutants the ci tier does not catch, each with its reason (conformance/mutants/known.cc), matched
// by a glob on "kernel/name". Three kinds, none counted as a mutant of the score but `open`:
// * equivalent:   no input can change an output;
// * undetectable: some input changes an output, but only by a difference that a correct backend
//                 may also produce within the contract (its reason must say how), so no honest
//                 case can catch it;
// * open:         a real escape that needs a catalog case or a stronger contract (counted as
//                 escaped, listed, and tolerated by the exit status so that any NEW escape fails).
// The list must shrink as the fixtures improve: an entry is STALE (and the run fails) when it is
// open and none of the mutants it names escapes any more, when an equivalent / undetectable
// mutant is caught after all, or when its glob names no mutant at all. Quick runs re-run the open
// entries over every case, so a fixed one is noticed there too.
enum class EscapeKind { open, equivalent, undetectable };
struct KnownEscape {
  std::string glob;
  EscapeKind kind = EscapeKind::open;
  std::string reason;
  KnownEscape(std::string g, EscapeKind k, std::string r) : glob(std::move(g)), kind(k), reason(std::move(r)) {}
  // true = equivalent, false = open
  KnownEscape(std::string g, bool equivalent, std::string r)
      : KnownEscape(std::move(g), equivalent ? EscapeKind::equivalent : EscapeKind::open, std::move(r)) {}
};
const std::vector<KnownEscape>& known_escapes();
const KnownEscape* find_known_escape(const std::string& key);

struct MutantResult {
  Mutant mutant;
  enum class Outcome {
    caught, escaped, known_escape, equivalent, undetectable, control_passed, control_failed, stale
  } outcome = Outcome::escaped;
  std::string case_id;     // the catching case (caught), the failing case (control_failed)
  std::vector<std::string> failed_checks;
  std::string message;     // the first failed check's message (with its diagnosis), or why it escaped
  std::string diagnosis;   // the first diagnosis line of a failed check, if any
  std::string across;      // explain: the diagnosis across cases (diagnose_attribute)
  int cases_run = 0;
  int cases_changed = 0;   // cases where some output differed from the reference
};

struct MutantOptions {
  std::vector<std::string> kernels;  // empty = all
  std::string witnesses_in;   // run each mutant first (quick: only) on its recorded catching case
  bool quick = false;         // with witnesses: only the witness case (a mutant without one runs fully)
  std::string witnesses_out;  // write mutant -> catching case
  std::string name_glob;      // only mutants whose "kernel/name" matches
  bool verbose = false;
  // Run every case of a caught mutant (not just up to the first failure) and diagnose across
  // cases: "the differences follow one attribute".
  bool explain = false;
  std::string html_out;  // write the score table and every mutant as one self-contained HTML page
};

// conformance/mutants/html.cc
struct MutantScoreRow {
  std::string kernel;
  int mutants = 0, caught = 0, escaped = 0, known = 0, equivalent = 0, undetectable = 0, controls = 0,
      controls_passed = 0;
};
// `stale`: one line per stale known.cc entry.
void write_mutants_html(const std::string& path, const std::vector<MutantScoreRow>& rows,
                        const std::vector<MutantResult>& results, const std::vector<std::string>& stale = {});

// Runs the mutants and controls, prints the per-kernel table; 0 when every mutant is caught (or
// listed equivalent) and every control passes.
int run_mutants(const MutantOptions& o, std::FILE* out);

}  // namespace kcs
