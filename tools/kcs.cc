// kcs: list kernels and backends, generate fixture bundles, run conformance sweeps, score
// outputs written by external programs, merge sharded results.
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <set>

#include <CLI/CLI.hpp>

#include "conformance/canaries/canary.h"
#include "conformance/fixture/bundle.h"
#include "conformance/runner/catalog.h"
#include "conformance/runner/expectations.h"
#include "conformance/runner/results.h"
#include "conformance/runner/results_writer.h"
#include "conformance/runner/stop_signal.h"
#include "conformance/runner/runner.h"
#include "conformance/runner/stages.h"
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

// The kernel a case id belongs to: its first dot-separated component.
const KernelDecl& kernel_of_case(const std::string& id) { return kernel_or_throw(id.substr(0, id.find('.'))); }

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
      std::printf("    case %-8s %s%s\n", tier_name(cs.tier), cs.id.c_str(),
                  cs.expect_error.empty() ? "" : "  (must be rejected)");
  }
  return 0;
}

struct RunOptions {
  std::vector<std::string> kernels, backends, tiles;
  std::string case_pattern, tier = "ci", results, out_dir, shard;
  int threads = 1;
  bool quiet = false;
  bool stages = false;
  bool resume = false;  // --resume: continue an interrupted results file
  std::vector<std::string> backend_libs;  // --backend-lib: plug-ins (kcs/plugin.h)
  std::string expect_file;                // --expect: expected failures / unsupported cases
};

// --backend-lib: each plug-in joins the sweep after the built-ins named with --backend. A plug-in
// that cannot be used is announced here and stays in the list: every case records its load error
// and the other backends still run.
void add_plugin_backends(const std::vector<std::string>& libs, std::vector<std::unique_ptr<Backend>>& backends) {
  for (const auto& path : libs) {
    auto p = PluginBackend::load(path);
    if (!p->load_error().empty())
      std::printf("backend-lib %s: %s\n", path.c_str(), p->load_error().c_str());
    for (const auto& b : backends)
      if (b->name() == p->name()) throw Error("two backends named '" + p->name() + "' (--backend-lib " + path + ")");
    backends.push_back(std::move(p));
  }
}

// Kernels that no selected backend implements are left out of a sweep with plug-ins (a plug-in
// implements a few kernels; building every other kernel's bundles would only produce skips).
std::vector<const KernelDecl*> kernels_for_plugins(std::vector<const KernelDecl*> kernels,
                                                   const std::vector<std::unique_ptr<Backend>>& backends) {
  std::vector<const KernelDecl*> out;
  for (const KernelDecl* k : kernels) {
    bool any = false;
    for (const auto& b : backends) any |= b->supports(k->id);
    if (any) out.push_back(k);
  }
  // None implemented: keep them, so that the records say "kernel not implemented by this backend".
  return out.empty() ? kernels : out;
}

// A plug-in's repro line names its library, not a backend kcs could build by name.
void plugin_repro(const Backend& b, RunRecord& r) {
  const PluginBackend* p = as_plugin(b);
  if (!p) return;
  const std::string from = "--backend " + b.name();
  const size_t at = r.repro.find(from);
  if (at != std::string::npos) r.repro.replace(at, from.size(), "--backend-lib " + p->path());
}

// Stage records of a fused case: "<case>#<stage>" rows of the fused kernel, the composition checks
// (primitive reference == fused reference) first. Prints the first diverging stage.
void append_stage_records(const CaseSpec& cs, const Bundle& b, Backend& be, int threads,
                          std::vector<RunRecord>& records) {
  bool reported = false;
  for (StageRecord& sr : run_stages(cs, b, be, threads)) {
    RunRecord r = std::move(sr.run);
    r.kernel = cs.problem.kernel;
    r.case_id = cs.id + "#" + sr.stage;
    r.checks.insert(r.checks.begin(), sr.composition.begin(), sr.composition.end());
    for (const auto& c : sr.composition)
      if (!c.passed && r.verdict != Verdict::error) {
        r.verdict = Verdict::failed;
        r.reason = c.name + ": " + c.message;
        break;
      }
    if (!reported && (r.verdict == Verdict::failed || r.verdict == Verdict::error)) {
      std::printf("first diverging stage of %s on %s: %s (%s)\n", cs.id.c_str(), be.name().c_str(),
                  sr.stage.c_str(), r.reason.c_str());
      reported = true;
    }
    records.push_back(std::move(r));
  }
}

int cmd_run(const RunOptions& o, const std::string& command_line) {
  const Tier tier = parse_tier(o.tier);
  int shard_i = 0, shard_n = 1;
  if (!o.shard.empty()) {
    if (std::sscanf(o.shard.c_str(), "%d/%d", &shard_i, &shard_n) != 2 || shard_n < 1 || shard_i < 0 ||
        shard_i >= shard_n)
      throw Error("--shard wants I/N with 0 <= I < N, got '" + o.shard + "'");
  }

  std::vector<std::unique_ptr<Backend>> backends;
  if (o.backends.empty() && o.backend_libs.empty()) {
    backends = builtin_backends();
  } else {
    for (const auto& n : o.backends) {
      auto b = make_builtin_backend(n);
      if (!b) throw Error("unknown backend '" + n + "' (reference, avx512, avx2, optimized)");
      backends.push_back(std::move(b));
    }
  }
  add_plugin_backends(o.backend_libs, backends);
  Expectations expect;
  if (!o.expect_file.empty()) expect = load_expectations(o.expect_file);

  // The work list: (case, tile) pairs in catalog order, then sharded.
  struct Item {
    CaseSpec cs;
    TileConfig tile;
    bool first_tile;
  };
  std::vector<Item> items;
  std::vector<const KernelDecl*> kernels = kernels_named(o.kernels);
  if (!o.case_pattern.empty() && o.kernels.empty() && o.case_pattern.find('*') == std::string::npos)
    kernels = {&kernel_of_case(o.case_pattern)};
  if (!o.backend_libs.empty() && o.kernels.empty()) kernels = kernels_for_plugins(kernels, backends);
  size_t n_cases = 0;
  std::vector<std::string> planned;
  for (const KernelDecl* k : kernels) {
    const Catalog c = load_catalog(*k);
    // A named case runs whatever its tier; a pattern or no case selects by tier.
    std::vector<CaseSpec> cases = o.case_pattern.empty() || o.case_pattern.find('*') != std::string::npos
                                      ? select_cases(c, tier, o.case_pattern)
                                      : select_cases(c, Tier::nightly, o.case_pattern);
    std::vector<TileConfig> tiles;
    for (const auto& t : o.tiles) tiles.push_back(TileConfig::parse(t));
    if (tiles.empty()) tiles = c.tiles;
    for (const auto& cs : cases) {
      planned.push_back(cs.id);  // every shard's cases: kcs merge names the missing ones
      if (static_cast<int>(n_cases++ % static_cast<size_t>(shard_n)) != shard_i) continue;
      for (size_t i = 0; i < tiles.size(); ++i) items.push_back({cs, tiles[i], i == 0});
    }
  }
  // Every --tile against the kernel of each case it applies to, before anything runs: an
  // undeclared knob or a value outside its declared range is a usage error (exit 2).
  for (const auto& it : items)
    if (Status s = check_tile(kernel_or_throw(it.cs.problem.kernel), it.tile); !s) throw Error("--tile: " + s.message);
  if (items.empty()) {
    std::fprintf(stderr, "kcs run: no case matches (tier %s%s)\n", o.tier.c_str(),
                 o.case_pattern.empty() ? "" : (", case " + o.case_pattern).c_str());
    return kExitUsage;
  }

  // Output paths are checked, locked and opened before the first run (kcs/results_writer.h).
  std::string results_path = o.results;
  if (results_path.empty() && !o.out_dir.empty()) results_path = o.out_dir + "/results.json";
  if (o.resume && results_path.empty()) throw Error("--resume needs --results FILE or --out DIR");
  std::unique_ptr<DirLock> out_lock;
  if (!o.out_dir.empty()) out_lock = std::make_unique<DirLock>(o.out_dir);
  std::vector<std::string> backend_names;
  for (const auto& b : backends) backend_names.push_back(b->name());
  Results results;
  results.header = make_header(o.tier, command_line, shard_i, shard_n, backend_names, planned);
  std::unique_ptr<ResultsWriter> writer;
  if (!results_path.empty()) writer = std::make_unique<ResultsWriter>(results_path, results.header, o.resume);
  if (writer && writer->resumed_runs())
    std::printf("resuming %s: %zu runs already recorded\n", results_path.c_str(), writer->resumed_runs());
  const RecordSink emit = writer ? writer->sink() : RecordSink([&](const RunRecord& r) {
    results.runs.push_back(to_result_run(r));
  });
  install_stop_handlers();

  const bool progress = !o.quiet && isatty(STDERR_FILENO);
  const size_t total = items.size() * backends.size();
  size_t done = 0;
  std::string last_case;
  Bundle bundle;
  std::vector<RunRecord> staged;
  for (const auto& it : items) {
    if (stop_requested()) break;
    for (auto& b : backends) {
      if (stop_requested()) break;
      if (writer && writer->recorded(it.cs.problem.kernel, it.cs.id, b->name(), it.tile.name(), o.threads)) {
        ++done;
        continue;
      }
      if (it.cs.id != last_case) {
        bundle = load_or_make_bundle(it.cs);
        last_case = it.cs.id;
      }
      if (progress)
        std::fprintf(stderr, "\r\033[K[%zu/%zu] %s %s %s", ++done, total, it.cs.id.c_str(), b->name().c_str(),
                     it.tile.name().c_str());
      Expectation* e = expect.find(it.cs.id, b->name());
      if (e && e->expect == Verdict::unsupported) {
        ++e->matched;
        RunRecord r = unsupported_record(*e, it.cs, b->name(), it.tile.name(), o.threads);
        plugin_repro(*b, r);
        emit(r);
        continue;
      }
      RunRecord r = run_case(it.cs, bundle, *b, it.tile, o.threads);
      plugin_repro(*b, r);
      if (e) ++e->matched, apply_xfail(*e, expect.source, r);
      emit(r);
      // Stages once per case and backend (with the primitives' default tiles), after its first tile.
      if (o.stages && it.cs.expect_error.empty() && it.first_tile) {
        staged.clear();
        append_stage_records(it.cs, bundle, *b, o.threads, staged);
        for (const auto& sr : staged) emit(sr);
      }
    }
  }
  if (progress) std::fprintf(stderr, "\r\033[K");
  if (stop_requested()) {
    // What finished is on disk; the file has no end line, so --resume continues it.
    const size_t n = writer ? done : results.runs.size();
    std::fprintf(stderr, "kcs run: stopped by signal %d after %zu of %zu runs%s\n", stop_signal(), n, total,
                 writer ? ("; finished runs are in " + results_path + " (kcs run --resume continues it)").c_str() : "");
    return 128 + stop_signal();
  }
  if (writer) {
    writer->finish();
    writer.reset();
    results = read_results_file(results_path);
  }

  if (!o.out_dir.empty()) write_text_file(o.out_dir + "/summary.md", summary_markdown(results));
  if (!o.out_dir.empty()) write_text_file(o.out_dir + "/index.html", report_html(results));

  std::printf("%s", summary_table(results).c_str());
  int failures = 0;
  for (const auto& r : results.runs) {
    if (r.verdict != "failed" && r.verdict != "error") continue;
    if (failures++ < 50) std::printf("FAIL %s  # %s\n", r.repro.c_str(), r.reason.c_str());
  }
  if (failures > 50) std::printf("... and %d more failures (see the results file)\n", failures - 50);
  if (!expect.empty()) {
    int xfail = 0, unsupported = 0;
    for (const auto& r : results.runs) xfail += r.verdict == "xfail", unsupported += r.verdict == "unsupported";
    std::printf("expectations %s: %d xfail, %d unsupported\n", expect.source.c_str(), xfail, unsupported);
    for (const auto& e : expect.entries)
      if (!e.matched) std::printf("  note: entry '%s' matched no run of this sweep\n", e.case_pattern.c_str());
  }
  if (!results_path.empty()) std::printf("results: %s\n", results_path.c_str());
  if (!o.out_dir.empty()) std::printf("summary: %s/summary.md\n", o.out_dir.c_str());
  if (!o.out_dir.empty()) std::printf("report: %s/index.html\n", o.out_dir.c_str());

  if (failures) return kExitFail;
  // A backend asked for by name must have run: a skip there is not a pass.
  if (!o.backends.empty())
    for (const auto& b : backends)
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
  const Bundle b = read_bundle(fixture, BundleExtras::scoring);  // no /intermediates: scoring needs none
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
  if (!results_path.empty()) write_check_results(results_path, r, b.tier);
  std::printf("%s: %s\n", b.case_id.c_str(), verdict_name(r.verdict));
  return r.verdict == Verdict::passed ? 0 : kExitFail;
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

  RunOptions ro;
  auto* run = app.add_subcommand("run", "run conformance cases on backends; exit 0 only if every check passed");
  run->add_option("--kernel,-k", ro.kernels, "kernel id (repeatable; default all)");
  run->add_option("--case,-c", ro.case_pattern, "case id, or a pattern with * (default: every case of the tier)");
  run->add_option("--tier,-t", ro.tier, "smoke | ci | nightly")->check(CLI::IsMember({"smoke", "ci", "nightly"}));
  run->add_option("--backend,-b", ro.backends, "backend (repeatable; default every built-in backend)");
  run->add_option("--tile", ro.tiles, "tile config knob=v[,knob=v] (repeatable; default the catalog's sweep)");
  run->add_option("--threads", ro.threads, "threads per call")->check(CLI::Range(1, 1024));
  run->add_option("--results", ro.results, "write the results JSON here");
  run->add_option("--out", ro.out_dir, "write results.json and summary.md into this directory");
  run->add_option("--shard", ro.shard, "run slice I of N (I/N) of the case list; results files merge");
  run->add_flag("--quiet,-q", ro.quiet, "no progress line");
  run->add_flag("--resume", ro.resume,
                "continue an interrupted results file (--results/--out) of the same sweep: runs already recorded "
                "are skipped");
  run->add_option("--backend-lib", ro.backend_libs,
                  "load a backend from a shared library speaking kcs/plugin.h (repeatable); with no --backend, "
                  "only plug-ins run, and only the kernels they implement unless --kernel is given");
  run->add_option("--expect", ro.expect_file,
                  "expected failures / unsupported cases of the backends (JSON: case pattern + reason + link); "
                  "an unexpected pass fails");
  run->add_flag("--stages", ro.stages,
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
    if (*selftest) return kcs::selftest(selftest_kernels, stdout) ? kExitFail : 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "kcs: error: %s\n", e.what());
    return kExitUsage;
  }
  return kExitUsage;
}
