// kcs: list kernels and backends, generate fixture bundles, run conformance sweeps, score
// outputs written by external programs, merge sharded results.
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <set>

#include <CLI/CLI.hpp>

#include "conformance/canaries/canary.h"
#include "conformance/mutants/mutants.h"
#include "conformance/fixture/bundle.h"
#include "conformance/runner/catalog.h"
#include "conformance/runner/expectations.h"
#include "conformance/runner/outside_contract.h"
#include "conformance/runner/results.h"
#include "conformance/runner/results_writer.h"
#include "conformance/runner/stop_signal.h"
#include "conformance/runner/runner.h"
#include "conformance/runner/stages.h"
#include "conformance/runner/sweep.h"
#include "kcs/backend.h"
#include "kcs/cpu.h"
#include "kcs/plugin_backend.h"
#include "reports/baseline.h"
#include "reports/html.h"
#include "reports/model.h"
#include "reports/summary.h"
#include "tools/explain.h"
#include "tools/results_commands.h"

namespace {

using namespace kcs;

// Exit codes: 0 everything that ran passed; 1 a check failed or a backend errored;
// 2 bad usage or input; 3 a backend that was asked for by name cannot run here.
constexpr int kExitFail = 1, kExitUsage = 2, kExitUnavailable = 3;

std::vector<const KernelDecl*> kernels_named(const std::vector<std::string>& names) {
  if (names.empty()) return all_kernels();
  std::vector<const KernelDecl*> out;
  for (const auto& n : names) out.push_back(&kernel_or_throw(n));
  return out;
}


int cmd_list(const std::vector<std::string>& kernels) {
  const CpuFeatures& f = cpu_features();
  std::printf("CPU: %s\nfeatures:", f.model.c_str());
  for (const auto& n : f.names()) std::printf(" %s", n.c_str());
  std::printf("\n\nbackends:\n");
  for (const auto& b : builtin_backends()) {
    const Availability a = b->availability();
    std::printf("  %-10s %-28s %s\n", b->name().c_str(), a.runnable ? "runs on this CPU" : ("skipped: " + a.reason).c_str(),
                b->describe().c_str());
  }
  std::printf("\nkernels:\n");
  for (const KernelDecl* k : kernels_named(kernels)) {
    const Catalog c = load_catalog(*k);
    int n[3] = {0, 0, 0};
    for (const auto& cs : c.cases) ++n[static_cast<int>(cs.tier)];
    std::printf("  %-10s %s (definition: %s)\n", k->id.c_str(), k->title.c_str(), k->spec.c_str());
    std::printf("    cases: %d smoke, %d ci, %d nightly; tiles:", n[0], n[0] + n[1], n[0] + n[1] + n[2]);
    for (const auto& t : c.tiles) std::printf(" %s", t.name().c_str());
    std::printf("\n    backends:");
    for (const auto& b : builtin_backends())
      if (b->supports(k->id)) std::printf(" %s", b->name().c_str());
    std::printf("\n");
    if (kernels.empty()) continue;
    // Full declaration when a kernel is named.
    for (const auto& t : k->tensors) {
      std::string shape;
      for (const auto& s : t.shape) shape += (shape.empty() ? "" : ", ") + s;
      std::printf("    %-6s %-14s %-16s [%s] %s  %s\n", role_name(t.role), t.name.c_str(),
                  t.dtype_attr.empty() ? dtype_name(t.dtype) : ("<" + t.dtype_attr + ">").c_str(), shape.c_str(),
                  t.role == Role::in ? "" : t.contract.str().c_str(), t.doc.c_str());
    }
    for (const auto& a : k->attrs) {
      std::string ch;
      for (const auto& v : a.choices) ch += (ch.empty() ? "" : "|") + v;
      std::printf("    attr   %-14s default %-10s %s  %s\n", a.name.c_str(), a.default_value.c_str(), ch.c_str(),
                  a.doc.c_str());
    }
    for (const auto& kn : k->knobs)
      std::printf("    knob   %-14s default %-10lld %s%s [%s]\n", kn.name.c_str(),
                  static_cast<long long>(kn.default_value), kn.doc.c_str(),
                  kn.bit_invariant ? " (must not change a bit)" : "", kn.range_str().c_str());
    for (const auto& inv : k->invariants) std::printf("    invariant %s: %s\n", inv.name.c_str(), inv.doc.c_str());
    for (const auto& cs : c.cases)
      std::printf("    case %-8s %s%s%s\n", tier_name(cs.tier), cs.id.c_str(),
                  cs.expect_error.empty() ? "" : "  (must be rejected)",
                  cs.outside_contract.empty() ? ""
                  : cs.in_contract_dim.empty() ? "  (outside the contract)"
                                               : ("  (outside the contract where inputs are NaN/Inf; finite " +
                                                  cs.in_contract_dim + " inside)").c_str());
  }
  return 0;
}

struct RunOptions {
  SweepOptions sweep;
  std::string results, out_dir, max_memory, isolate = "all";
  bool quiet = false;
  bool resume = false;  // --resume: continue an interrupted results file
};

// Planning and execution live in conformance/runner/sweep.h; this prints and writes the files.
int cmd_run(RunOptions& ro, const std::string& command_line) {
  SweepOptions& o = ro.sweep;
  o.isolate_builtins = ro.isolate == "all";
  if (!ro.max_memory.empty()) o.isolation.max_memory = parse_memory_size(ro.max_memory);
  o.log = stdout;
  o.progress = !ro.quiet && isatty(STDERR_FILENO);
  SweepPlan plan = plan_sweep(o);
  if (plan.items.empty()) {
    std::fprintf(stderr, "kcs run: no case matches (tier %s%s)\n", o.tier.c_str(),
                 o.case_pattern.empty() ? "" : (", case " + o.case_pattern).c_str());
    return kExitUsage;
  }

  // Output paths are checked, locked and opened before the first run (results_writer.h); every run
  // is appended as it completes, so a killed sweep keeps what finished and --resume continues it.
  std::string results_path = ro.results;
  if (results_path.empty() && !ro.out_dir.empty()) results_path = ro.out_dir + "/results.jsonl";
  // --resume of a directory written before the file was named results.jsonl: continue that file.
  if (ro.resume && ro.results.empty() && !ro.out_dir.empty() && !std::filesystem::exists(results_path) &&
      std::filesystem::exists(ro.out_dir + "/results.json"))
    results_path = ro.out_dir + "/results.json";
  if (ro.resume && results_path.empty()) throw Error("--resume needs --results FILE or --out DIR");
  std::unique_ptr<DirLock> out_lock;
  if (!ro.out_dir.empty()) out_lock = std::make_unique<DirLock>(ro.out_dir);
  std::vector<std::string> backend_names;
  for (const auto& b : plan.backends) backend_names.push_back(b->name());
  Results results;
  results.header = make_header(o.tier, command_line, plan.shard_index, plan.shard_count, backend_names, plan.planned);
  std::unique_ptr<ResultsWriter> writer;
  if (!results_path.empty()) writer = std::make_unique<ResultsWriter>(results_path, results.header, ro.resume);
  if (writer && writer->resumed_runs()) {
    std::printf("resuming %s: %zu runs already recorded\n", results_path.c_str(), writer->resumed_runs());
    o.already_recorded = [&](const std::string& k, const std::string& c, const std::string& b, const std::string& t,
                             int threads) { return writer->recorded(k, c, b, t, threads); };
  }
  install_stop_handlers();
  const SweepOutcome done = execute_sweep(
      plan, o,
      [&](RunRecord&& r) {
        if (writer) writer->append(r);
        else results.runs.push_back(to_result_run(r));
      },
      [] { return stop_requested(); });
  if (done.interrupted || stop_requested()) {
    // What finished is on disk; the file has no end line, so --resume continues it.
    std::fprintf(stderr, "kcs run: stopped by signal %d with %zu runs recorded%s\n", stop_signal(),
                 writer ? writer->runs() : done.records,
                 writer ? ("; finished runs are in " + results_path + " (kcs run --resume continues it)").c_str() : "");
    return 128 + stop_signal();
  }
  if (writer) {
    writer->finish();
    writer.reset();
    results = read_results_file(results_path);
  }
  if (!ro.out_dir.empty()) write_text_file(ro.out_dir + "/summary.md", summary_markdown(results));
  if (!ro.out_dir.empty()) write_text_file(ro.out_dir + "/index.html", report_html(results));

  std::printf("%s", summary_table(results).c_str());
  // One line per failure (a not_run is summed up by its backend's "stopped" line). Counted from the
  // results, so runs a resumed file already held count too.
  int failures = 0, shown = 0;
  for (const auto& r : results.runs) {
    if (!verdict_fails(r.verdict)) continue;  // failed, error, faults, and any verdict reports do not know
    ++failures;
    if (r.verdict == "not_run") continue;
    if (shown < 50) ++shown, std::printf("FAIL %s  # %s\n", r.repro.c_str(), r.reason.c_str());
  }
  if (failures > shown)
    std::printf("... and %d more failures (%s)\n", failures - shown,
                results_path.empty() ? "write them all with --results FILE" : ("all in " + results_path).c_str());
  print_outside_contract(results, results_path);
  for (const auto& s : done.stopped) std::printf("%s\n", s.c_str());
  if (!plan.expect.empty()) {
    int xfail = 0, unsupported = 0;
    for (const auto& r : results.runs) xfail += r.verdict == "xfail", unsupported += r.verdict == "unsupported";
    std::printf("expectations %s: %d xfail, %d unsupported\n", plan.expect.source.c_str(), xfail, unsupported);
    for (const auto& e : plan.expect.entries)
      if (!e.matched) std::printf("  note: entry '%s' matched no run of this sweep\n", e.case_pattern.c_str());
  }
  for (const auto& u : done.unsound) std::printf("kcs run: %s\n", u.c_str());
  if (!results_path.empty()) std::printf("results: %s\n", results_path.c_str());
  if (!ro.out_dir.empty()) std::printf("summary: %s/summary.md\n", ro.out_dir.c_str());
  if (!ro.out_dir.empty()) std::printf("report: %s/index.html\n", ro.out_dir.c_str());

  if (failures || done.failures || !done.unsound.empty()) return kExitFail;
  // A backend asked for by name must have run: a skip there is not a pass.
  if (!o.backends.empty())
    for (const auto& b : plan.backends)
      if (!b->availability().runnable) {
        std::printf("backend %s was requested but cannot run on this CPU (%s)\n", b->name().c_str(),
                    b->availability().reason.c_str());
        return kExitUnavailable;
      }
  return 0;
}

int cmd_gen(const std::vector<std::string>& kernels, const std::string& case_pattern, const std::string& tier_s,
            const std::string& out_dir) {
  const Tier tier = parse_tier(tier_s);
  int written = 0;
  for (const KernelDecl* k : kernels_named(kernels)) {
    const Catalog c = load_catalog(*k);
    for (const auto& cs : select_cases(c, case_pattern.empty() ? tier : Tier::nightly, case_pattern)) {
      if (!cs.expect_error.empty()) {
        std::printf("skip %s (an input that must be rejected: no expected outputs)\n", cs.id.c_str());
        continue;
      }
      const std::string path = out_dir + "/" + k->id + "/" + cs.id + ".h5";
      std::filesystem::create_directories(out_dir + "/" + k->id);
      write_bundle(path, make_bundle(cs));
      std::printf("wrote %s\n", path.c_str());
      ++written;
    }
  }
  if (!written) {
    std::fprintf(stderr, "kcs gen: no case matches\n");
    return kExitUsage;
  }
  return 0;
}

int cmd_check(const std::string& fixture, const std::string& outputs, const std::string& results_path,
              const std::string& backend_name) {
  if (!results_path.empty()) check_writable(results_path);
  const Bundle b = read_bundle(fixture, BundleExtras::scoring);  // /intermediates: only quantizer inputs
  const KernelDecl& decl = kernel_or_throw(b.problem.kernel);
  const TensorMap actual = read_outputs(outputs, decl, b.problem);
  RunRecord r;
  r.kernel = decl.id;
  r.case_id = b.case_id;
  r.backend = backend_name;
  r.tile = "default";
  r.repro = "kcs check --fixture " + fixture + " --outputs " + outputs;
  r.checks = score_outputs(decl, b, actual);
  r.verdict = Verdict::passed;
  for (const auto& c : r.checks) {
    std::printf("%-28s %-6s %-24s margin %-8s %s\n", c.name.c_str(), c.passed ? "pass" : "FAIL", c.contract.c_str(),
                json_number(c.margin).dump().c_str(), c.message.c_str());
    if (!c.passed && r.verdict == Verdict::passed) {
      r.verdict = Verdict::failed;
      r.reason = c.name + ": " + c.message;
    }
  }
  // A bundle of a catalog case outside the contract is judged as `kcs run` judges it.
  Catalog catalog;
  try {
    catalog = load_catalog(decl);
  } catch (const Error& e) {
    std::fprintf(stderr, "kcs check: note: %s; a case outside the contract is scored as an ordinary one\n", e.what());
  }
  if (const CaseSpec* cs = find_case(catalog, b.case_id)) {
    settle_outside_contract(*cs, decl, b, actual, r);
    if (r.verdict != Verdict::passed) std::printf("%s\n", r.reason.c_str());
  }
  if (!results_path.empty()) write_check_results(results_path, r, b.tier);
  std::printf("%s: %s\n", b.case_id.c_str(), verdict_name(r.verdict));
  return verdict_is_failure(r.verdict) ? kExitFail : 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"kcs: kernel conformance suite for DeepSeek V3.2 / V4 kernels"};
  app.require_subcommand(1);
  std::string command_line;
  for (int i = 0; i < argc; ++i) command_line += (i ? " " : "") + std::string(i ? argv[i] : "kcs");

  std::vector<std::string> list_kernels;
  auto* list = app.add_subcommand("list", "kernels, cases, backends and what this CPU runs");
  list->add_option("kernel", list_kernels, "show the full declaration and cases of these kernels");

  // The isolated worker of `kcs run` (conformance/runner/isolate.h); not a user command.
  if (argc >= 2 && std::string(argv[1]) == "worker") return worker_main(argc, argv);

  RunOptions ro;
  SweepOptions& so = ro.sweep;
  auto* run = app.add_subcommand("run", "run conformance cases on backends; exit 0 only if every check passed");
  run->add_option("--kernel,-k", so.kernels, "kernel id (repeatable; default all)");
  run->add_option("--case,-c", so.case_pattern, "case id, or a pattern with * (default: every case of the tier)");
  run->add_option("--tier,-t", so.tier, "smoke | ci | nightly")->check(CLI::IsMember({"smoke", "ci", "nightly"}));
  run->add_option("--backend,-b", so.backends, "backend (repeatable; default every built-in backend)");
  run->add_option("--tile", so.tiles, "tile config knob=v[,knob=v] (repeatable; default the catalog's sweep)");
  run->add_option("--threads", so.threads, "threads per call")->check(CLI::Range(1, 1024));
  run->add_option("--isolate", ro.isolate,
                  "which backends run in worker processes: all (default) | plugins (built-ins in this process)")
      ->check(CLI::IsMember({"all", "plugins"}));
  run->add_option("--timeout", so.isolation.timeout_s, "seconds per isolated call before it is killed (default 60)")
      ->check(CLI::Range(0.001, 86400.0));
  run->add_option("--max-memory", ro.max_memory,
                  "address-space limit of each worker, e.g. 768M, 4G (default half of physical memory)");
  run->add_option("--repeat", so.repeat, "run every case N times; any bit difference is a failure (flaky)")
      ->check(CLI::Range(1, 1000));
  run->add_option("--results", ro.results, "write the results JSON here");
  run->add_option("--out", ro.out_dir, "write results.jsonl and summary.md into this directory");
  run->add_option("--shard", so.shard, "run slice I of N (I/N) of the case list; results files merge");
  run->add_flag("--quiet,-q", ro.quiet, "no progress line");
  run->add_flag("--resume", ro.resume,
                "continue an interrupted results file (--results/--out) of the same sweep: runs already recorded "
                "are skipped");
  run->add_option("--backend-lib", so.backend_libs,
                  "load a backend from a shared library speaking kcs/plugin.h (repeatable); with no --backend, "
                  "only plug-ins run, and only the kernels they implement unless --kernel is given");
  run->add_option("--expect", so.expect_file,
                  "expected failures / unsupported cases of the backends (JSON: case pattern + reason + link); "
                  "an unexpected pass fails");
  run->add_flag("--stages", so.stages,
                "also run each stage of fused kernels alone on the reference's stage input (its primitive kernel) "
                "and name the first diverging stage");

  std::vector<std::string> gen_kernels;
  std::string gen_case, gen_tier = "ci", gen_out;
  auto* gen = app.add_subcommand("gen", "write fixture bundles (HDF5) for cases");
  gen->add_option("--kernel,-k", gen_kernels, "kernel id (repeatable; default all)");
  gen->add_option("--case,-c", gen_case, "case id or pattern with *");
  gen->add_option("--tier,-t", gen_tier, "smoke | ci | nightly")->check(CLI::IsMember({"smoke", "ci", "nightly"}));
  gen->add_option("--out,-o", gen_out, "output directory (bundles go to DIR/<kernel>/<case>.h5)")->required();

  std::string fixture, outputs, check_results, check_backend = "external";
  auto* check = app.add_subcommand("check", "score an outputs file written by any program against a bundle");
  check->add_option("--fixture,-f", fixture, "bundle (.h5)")->required();
  check->add_option("--outputs,-o", outputs, "outputs file (.h5)")->required();
  check->add_option("--results", check_results, "write the results JSON here");
  check->add_option("--backend-name", check_backend, "name of the backend in the results");

  std::vector<std::string> merge_in;
  std::string merge_out;
  auto* merge = app.add_subcommand("merge", "merge results files of shards");
  merge->add_option("inputs", merge_in, "results files")->required();
  merge->add_option("--out,-o", merge_out, "merged results file")->required();

  ReportOptions rep;
  auto* report = app.add_subcommand("report", "HTML + Markdown accuracy report of results files; drift against a baseline");
  report->add_option("--results,-r", rep.results, "results file (repeatable: shards are merged)")->required();
  report->add_option("--baseline", rep.baseline, "earlier results file or baseline (reports/baselines/ci.json)");
  report->add_flag("--fail-on-drift", rep.fail_on_drift, "exit 1 when anything drifted against the baseline");
  report->add_option("--out,-o", rep.out_dir, "write index.html and summary.md into this directory");
  report->add_option("--write-baseline", rep.write_baseline, "write the compact baseline of the results here");

  // Fault-injection canaries (conformance/canaries): exit 1 if one is not caught by its checks.
  std::vector<std::string> selftest_kernels;
  auto* selftest = app.add_subcommand("selftest", "run the fault-injection canaries: which contract catches which fault");
  selftest->add_option("--kernel,-k", selftest_kernels, "kernel id (repeatable; default all)");
  kcs::MutantOptions mut;
  bool mutants = false;
  selftest->add_flag("--mutants", mutants, "run the semantic mutants and controls instead (conformance/mutants)");
  selftest->add_option("--witnesses", mut.witnesses_in, "mutants: run each first on its recorded catching case");
  selftest->add_flag("--quick", mut.quick, "mutants: only the recorded catching case (needs --witnesses)");
  selftest->add_option("--write-witnesses", mut.witnesses_out, "mutants: record each caught mutant's catching case");
  selftest->add_option("--mutant", mut.name_glob, "mutants: only those whose kernel/name matches this glob");
  selftest->add_flag("--verbose,-v", mut.verbose, "mutants: one line per mutant, caught ones included");
  selftest->add_flag("--explain", mut.explain, "mutants: run every case of a caught mutant and diagnose across cases");
  selftest->add_option("--html", mut.html_out, "mutants: write the score table and every mutant to this HTML file");

  kcs::ExplainCommand explain(app);

  // Misuse (unknown option, missing or bad value) exits 2 with CLI11's message, as the README
  // says; --help exits 0. CLI11_PARSE would return CLI11's own codes (105-114).
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : kExitUsage;
  }
  try {
    if (*list) return cmd_list(list_kernels);
    if (*run) return cmd_run(ro, command_line);
    if (*gen) return cmd_gen(gen_kernels, gen_case, gen_tier, gen_out);
    if (*check) return cmd_check(fixture, outputs, check_results, check_backend);
    if (*merge) return cmd_merge(merge_in, merge_out);
    if (*report) return cmd_report(rep);
    if (explain.parsed()) return explain.run();
    if (*selftest && mutants) {
      mut.kernels = selftest_kernels;
      return kcs::run_mutants(mut, stdout) ? kExitFail : 0;
    }
    if (*selftest) return kcs::selftest(selftest_kernels, stdout) ? kExitFail : 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "kcs: error: %s\n", e.what());
    return kExitUsage;
  }
  return kExitUsage;
}
