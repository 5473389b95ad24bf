#include "conformance/runner/sweep.h"

#include <unistd.h>

#include <cstring>
#include <future>
#include <map>

#include "conformance/runner/stages.h"
#include "conformance/runner/guard.h"
#include "reference/cast_points.h"

namespace kcs {

namespace {

std::vector<const KernelDecl*> kernels_named(const std::vector<std::string>& names) {
  if (names.empty()) return all_kernels();
  std::vector<const KernelDecl*> out;
  for (const auto& n : names) out.push_back(&kernel_or_throw(n));
  return out;
}

bool is_fault(Verdict v) { return v == Verdict::crashed || v == Verdict::timeout || v == Verdict::out_of_memory; }

// "'scale' (first at byte 0)" for the first out/inout tensor whose bytes differ; empty if none.
std::string first_difference(const TensorMap& a, const TensorMap& b) {
  for (const auto& [name, t] : a) {
    auto it = b.find(name);
    if (it == b.end() || t.same_bytes(it->second)) continue;
    const Tensor& u = it->second;
    size_t at = 0;
    if (t.nbytes() == u.nbytes()) {
      const auto* p = static_cast<const uint8_t*>(t.raw());
      const auto* q = static_cast<const uint8_t*>(u.raw());
      while (at < t.nbytes() && p[at] == q[at]) ++at;
    }
    return "'" + name + "' (first at byte " + std::to_string(at) + ")";
  }
  return "";
}

std::string outcome(const RunRecord& r) {
  return std::string(verdict_name(r.verdict)) + (r.reason.empty() ? "" : ": " + r.reason);
}

// Stage records of a fused case: "<case>#<stage>" rows of the fused kernel, the composition checks
// (primitive reference == fused reference) first.
void stage_records(const CaseSpec& cs, const Bundle& b, Backend& be, const SweepOptions& o, const RecordSink& sink,
                   SweepOutcome& out, StageBundles& reuse) {
  bool reported = false;
  for (StageRecord& sr : run_stages(cs, b, be, o.threads, &reuse)) {
    RunRecord r = std::move(sr.run);
    r.kernel = cs.problem.kernel;
    r.case_id = cs.id + "#" + sr.stage;
    r.checks.insert(r.checks.begin(), sr.composition.begin(), sr.composition.end());
    for (const auto& c : sr.composition)
      if (!c.passed && r.verdict == Verdict::passed) {
        r.verdict = Verdict::failed;
        r.reason = c.name + ": " + c.message;
        break;
      }
    if (!reported && verdict_is_failure(r.verdict) && o.log) {
      std::fprintf(o.log, "first diverging stage of %s on %s: %s (%s)\n", cs.id.c_str(), be.name().c_str(),
                   sr.stage.c_str(), r.reason.c_str());
      reported = true;
    }
    ++out.records;
    out.failures += verdict_is_failure(r.verdict);
    sink(std::move(r));
  }
}

// A passed record of a backend that ignores tiles, as the same call with `tile` would record it
// (no time: nothing ran).
RunRecord retiled(const RunRecord& first, const TileConfig& tile, int threads) {
  RunRecord r = first;
  r.tile = tile.name();
  r.repro = repro_command(r.case_id, r.backend, r.tile, threads);
  r.seconds = 0;
  return r;
}

}  // namespace

std::unique_ptr<Backend> sweep_backend(const std::string& spec, bool lib, const SweepOptions& o) {
  if (lib) {
    auto b = IsolatedBackend::start(spec, true, o.isolation);
    set_repro_backend_arg(b->name(), "--backend-lib " + b->lib_path());
    return b;
  }
  if (!make_builtin_backend(spec)) throw Error("unknown backend '" + spec + "' (reference, avx512, avx2, optimized)");
  if (o.isolate_builtins) return IsolatedBackend::start(spec, false, o.isolation);
  return make_builtin_backend(spec);
}

SweepPlan plan_sweep(const SweepOptions& o) {
  SweepPlan plan;
  const Tier tier = parse_tier(o.tier);
  int shard_i = 0, shard_n = 1;
  if (!o.shard.empty()) {
    if (std::sscanf(o.shard.c_str(), "%d/%d", &shard_i, &shard_n) != 2 || shard_n < 1 || shard_i < 0 ||
        shard_i >= shard_n)
      throw Error("--shard wants I/N with 0 <= I < N, got '" + o.shard + "'");
  }
  if (o.repeat < 1) throw Error("--repeat wants N >= 1");
  for (const auto& t : o.tiles) TileConfig::parse(t);  // malformed text is a usage error before any work

  std::vector<std::string> builtins = o.backends;
  if (builtins.empty() && o.backend_libs.empty())
    for (const auto& b : builtin_backends()) builtins.push_back(b->name());
  for (const auto& n : builtins) plan.backends.push_back(sweep_backend(n, false, o));
  // A plug-in that cannot be used is announced and stays: every case records why.
  for (const auto& path : o.backend_libs) {
    auto p = sweep_backend(path, true, o);
    const IsolatedBackend* iso = as_isolated(*p);
    const std::string& why = !iso->load_fault().empty() ? iso->load_fault() : iso->load_error();
    if (!why.empty() && o.log) std::fprintf(o.log, "backend-lib %s: %s\n", path.c_str(), why.c_str());
    for (const auto& b : plan.backends)
      if (b->name() == p->name()) throw Error("two backends named '" + p->name() + "' (--backend-lib " + path + ")");
    plan.backends.push_back(std::move(p));
  }
  if (!o.expect_file.empty()) plan.expect = load_expectations(o.expect_file);

  std::vector<const KernelDecl*> kernels = kernels_named(o.kernels);
  if (!o.case_pattern.empty() && o.kernels.empty() && o.case_pattern.find('*') == std::string::npos)
    kernels = {&kernel_or_throw(o.case_pattern.substr(0, o.case_pattern.find('.')))};
  // With plug-ins and no --kernel, only kernels some backend implements (a plug-in implements a
  // few; building every other kernel's bundles would only produce skips). None: keep them all, so
  // that the records say "kernel not implemented by this backend".
  if (!o.backend_libs.empty() && o.kernels.empty()) {
    std::vector<const KernelDecl*> some;
    for (const KernelDecl* k : kernels) {
      bool any = false;
      for (const auto& b : plan.backends) any |= b->supports(k->id);
      if (any) some.push_back(k);
    }
    if (!some.empty()) kernels = some;
  }
  size_t n_cases = 0;
  for (const KernelDecl* k : kernels) {
    const Catalog c = load_catalog(*k);
    // A named case runs whatever its tier; a pattern or no case selects by tier.
    const bool named = !o.case_pattern.empty() && o.case_pattern.find('*') == std::string::npos;
    std::vector<TileConfig> tiles;
    for (const auto& t : o.tiles) tiles.push_back(TileConfig::parse(t));
    if (tiles.empty()) tiles = c.tiles;
    for (const auto& cs : select_cases(c, named ? Tier::nightly : tier, o.case_pattern)) {
      plan.planned.push_back(cs.id);
      if (static_cast<int>(n_cases++ % static_cast<size_t>(shard_n)) != shard_i) continue;
      for (size_t i = 0; i < tiles.size(); ++i) plan.items.push_back({cs, tiles[i], i == 0});
    }
  }
  plan.shard_index = shard_i;
  plan.shard_count = shard_n;
  // Every --tile against the kernel of each case it applies to, before anything runs: an
  // undeclared knob or a value outside its declared range is a usage error.
  for (const auto& it : plan.items)
    if (Status s = check_tile(kernel_or_throw(it.cs.problem.kernel), it.tile); !s) throw Error("--tile: " + s.message);
  return plan;
}

static bool integrity_failed(const RunRecord& r) {
  for (const auto& c : r.checks)
    if (!c.passed && is_integrity_check(c.name)) return true;
  return false;
}

static std::vector<std::string> failed_checks(const RunRecord& r) {
  std::vector<std::string> v;
  for (const auto& c : r.checks)
    if (!c.passed) v.push_back(c.name);
  return v;
}

RunRecord run_item(const SweepItem& it, const Bundle& b, Backend& be, const SweepOptions& o,
                   const TileConfig& first_tile, TensorMap& first_outputs) {
  if (it.first_tile) first_outputs.clear();
  TensorMap outs;
  RunRecord r = run_case(it.cs, b, be, it.tile, o.threads, &outs);
  if (r.verdict == Verdict::skipped || is_fault(r.verdict)) return r;

  // --repeat: the same call again must give the same bits.
  for (int k = 2; k <= o.repeat; ++k) {
    TensorMap again;
    RunRecord rk = run_case(it.cs, b, be, it.tile, o.threads, &again);
    if (is_fault(rk.verdict)) {
      rk.reason += " (repetition " + std::to_string(k) + " of " + std::to_string(o.repeat) + ")";
      rk.repro += " --repeat " + std::to_string(o.repeat);
      return rk;
    }
    std::string diff = first_difference(outs, again);
    if (diff.empty() && rk.verdict != r.verdict) diff = "its verdict (" + outcome(rk) + ")";
    if (!diff.empty()) {
      r.verdict = Verdict::flaky;
      r.reason = "flaky: nondeterministic: run " + std::to_string(k) + " of " + std::to_string(o.repeat) +
                 " differs from run 1 in " + diff;
      r.repro += " --repeat " + std::to_string(o.repeat);
      return r;
    }
  }

  // A failure is re-run once: another outcome means the backend is flaky, not that it passed. An
  // input write, a guard byte or the FP environment is evidence enough: not re-run.
  if ((r.verdict == Verdict::failed || r.verdict == Verdict::error || r.verdict == Verdict::outside_contract_differs) &&
      !integrity_failed(r)) {
    TensorMap again;
    RunRecord r2 = run_case(it.cs, b, be, it.tile, o.threads, &again);
    if (is_fault(r2.verdict)) {
      r2.reason += " (on a re-run of a failure: " + r.reason + ")";
      return r2;
    }
    const std::string diff = r.verdict == Verdict::error ? "" : first_difference(outs, again);
    if (r2.verdict != r.verdict || failed_checks(r2) != failed_checks(r) || !diff.empty()) {
      r.reason = "flaky: first run " + outcome(r) + "; re-run " +
                 (diff.empty() ? outcome(r2) : outcome(r2) + ", outputs differ in " + diff);
      r.verdict = Verdict::flaky;
      return r;
    }
  }

  // Tiles that differ from the case's first only in bit-invariant knobs must not change a bit.
  if (r.verdict == Verdict::error) return r;
  const KernelDecl& decl = kernel_or_throw(it.cs.problem.kernel);
  if (it.first_tile) {
    first_outputs = std::move(outs);
    return r;
  }
  if (first_outputs.empty()) return r;
  for (const auto& kd : decl.knobs)
    if (!kd.bit_invariant && it.tile.get(decl, kd.name) != first_tile.get(decl, kd.name)) return r;
  const std::string diff = first_difference(outs, first_outputs);
  if (!diff.empty()) {
    // After the integrity checks; it names the run's failure unless something failed already.
    size_t at = 0;
    while (at < r.checks.size() && is_integrity_check(r.checks[at].name)) ++at;
    const CheckResult c = integrity_failure(
        "tile_invariance", "bit-identical to tile " + first_tile.name() + " (the knobs that differ are declared bit-invariant)",
        diff + " differs from tile " + first_tile.name());
    if (r.verdict == Verdict::passed || r.verdict == Verdict::outside_contract_differs) r.reason = c.name + ": " + c.message;
    r.verdict = Verdict::failed;
    r.checks.insert(r.checks.begin() + static_cast<long>(at), c);
  }
  return r;
}

SweepOutcome execute_sweep(SweepPlan& plan, const SweepOptions& o, const RecordSink& sink,
                           const std::function<bool()>& stop) {
  SweepOutcome out;
  const size_t nb = plan.backends.size();
  std::vector<int> consecutive(nb, 0);
  std::vector<bool> stopped(nb, false);
  std::vector<TensorMap> first_outputs(nb);
  // A backend that ignores tiles runs a case once: its passed record stands for the case's other tiles.
  std::vector<std::pair<std::string, RunRecord>> untiled(nb);
  std::vector<size_t> considered(nb, 0);  // runs the expectation list was consulted for
  std::map<std::pair<size_t, size_t>, size_t> matched;  // (entry, backend) -> runs
  size_t executed = 0;
  auto emit = [&](RunRecord&& r) {
    ++out.records;
    out.failures += verdict_is_failure(r.verdict);
    executed += !(r.verdict == Verdict::unsupported || r.verdict == Verdict::skipped || r.verdict == Verdict::not_run);
    sink(std::move(r));
  };

  const size_t total = plan.items.size() * nb;
  size_t done = 0;
  std::string last_case;
  Bundle bundle;
  // The next case's bundle (generator + reference, most of a sweep's work in this process) is
  // made on a second thread while the backends run this one: at most two bundles live. Not under
  // a reference cast mutation: that setting is thread-local (conformance/mutants).
  const bool prefetch = !ref::g_cast_mutation.active;
  std::future<Bundle> next_bundle;
  std::string next_case;
  auto prefetch_after = [&](size_t i) {
    for (size_t j = i + 1; prefetch && j < plan.items.size(); ++j)
      if (plan.items[j].cs.id != plan.items[i].cs.id) {
        next_case = plan.items[j].cs.id;
        next_bundle = std::async(std::launch::async, [cs = plan.items[j].cs] { return load_or_make_bundle(cs); });
        return;
      }
  };
  TileConfig first_tile;
  StageBundles stage_bundles;  // --stages: the stage references of the current case, for every backend
  for (size_t i = 0; i < plan.items.size(); ++i) {
    if (stop && stop()) {
      out.interrupted = true;
      break;
    }
    const SweepItem& it = plan.items[i];
    if (it.first_tile) first_tile = it.tile;
    for (size_t bi = 0; bi < nb; ++bi) {
      Backend& be = *plan.backends[bi];
      if (o.progress)
        std::fprintf(stderr, "\r\033[K[%zu/%zu] %s %s %s", ++done, total, it.cs.id.c_str(), be.name().c_str(),
                     it.tile.name().c_str());
      if (o.already_recorded && o.already_recorded(it.cs.problem.kernel, it.cs.id, be.name(), it.tile.name(), o.threads)) {
        if (it.first_tile) first_outputs[bi].clear();  // never compare a later tile with another case
        continue;
      }
      if (stopped[bi]) {
        RunRecord r;
        r.kernel = it.cs.problem.kernel;
        r.case_id = it.cs.id;
        r.backend = be.name();
        r.tile = it.tile.name();
        r.threads = o.threads;
        r.repro = repro_command(it.cs.id, r.backend, r.tile, o.threads);
        r.verdict = Verdict::not_run;
        r.reason = "not run: backend " + be.name() + " was stopped after " + std::to_string(o.max_crashes) +
                   " consecutive crashes";
        emit(std::move(r));
        continue;
      }
      ++considered[bi];
      Expectation* e = plan.expect.find(it.cs.id, be.name());
      if (e) {
        ++e->matched;
        ++matched[{static_cast<size_t>(e - plan.expect.entries.data()), bi}];
      }
      if (e && e->expect == Verdict::unsupported) {
        emit(unsupported_record(*e, it.cs, be.name(), it.tile.name(), o.threads));
        continue;
      }
      if (untiled[bi].first == it.cs.id) {
        RunRecord r = retiled(untiled[bi].second, it.tile, o.threads);
        consecutive[bi] = 0;
        if (e) apply_xfail(*e, plan.expect.source, r);
        emit(std::move(r));
        continue;
      }
      if (it.cs.id != last_case) {
        if (next_bundle.valid() && next_case == it.cs.id) {
          bundle = next_bundle.get();
        } else {
          next_bundle = {};
          bundle = load_or_make_bundle(it.cs);
        }
        last_case = it.cs.id;
        prefetch_after(i);
      }
      RunRecord r = run_item(it, bundle, be, o, first_tile, first_outputs[bi]);
      if (stop && stop() && is_fault(r.verdict)) break;  // cut short by the stop, not the backend's fault: not kept
      consecutive[bi] = is_fault(r.verdict) ? consecutive[bi] + 1 : 0;
      untiled[bi].first.clear();
      if (be.ignores_tiles() && r.verdict == Verdict::passed) untiled[bi] = {it.cs.id, r};
      if (e) apply_xfail(*e, plan.expect.source, r);
      emit(std::move(r));
      // Stages once per case and backend (with the primitives' default tiles), after its first tile.
      if (o.stages && it.cs.expect_error.empty() && it.first_tile) stage_records(it.cs, bundle, be, o, sink, out, stage_bundles);
      if (consecutive[bi] >= o.max_crashes && !stopped[bi]) {
        stopped[bi] = true;
        const size_t left = plan.items.size() - i - 1;
        out.stopped.push_back("backend " + be.name() + " stopped after " + std::to_string(o.max_crashes) +
                              " consecutive crashes: its remaining " + std::to_string(left) +
                              " runs are not run (recorded as not_run)");
        if (o.log) std::fprintf(o.log, "%s\n", out.stopped.back().c_str());
      }
    }
  }
  if (o.progress) std::fprintf(stderr, "\r\033[K");

  // An expectation list cannot make a sweep pass that executed nothing or excused everything.
  if (!plan.expect.empty() && !out.interrupted) {
    if (executed == 0)
      out.unsound.push_back("the expectation list " + plan.expect.source +
                            " leaves nothing executed (every run unsupported, skipped or not run): nothing passed");
    for (const auto& [key, n] : matched) {
      const Expectation& e = plan.expect.entries[key.first];
      if (e.case_pattern.find('*') == std::string::npos || n < considered[key.second]) continue;
      out.unsound.push_back("expectation entry '" + e.case_pattern + "' (" + verdict_name(e.expect) + ") of " +
                            plan.expect.source + " matches every run of backend " +
                            plan.backends[key.second]->name() + " in this sweep (" + std::to_string(n) +
                            "): a wildcard that excuses everything cannot make a run pass");
    }
  }
  return out;
}

}  // namespace kcs
