// The generic conformance suite, instantiated once per kernel by KCS_CONFORMANCE_SUITE(id):
//   Conformance   catalog case x backend x tile config, every output against its contract
//   Determinism   optimized variants: two runs and 1 vs 2 threads give identical bytes
//   TileInvariance  knobs declared bit-invariant (row/token tiling) never change a bit
//   Bundles       committed bundles equal what the generator and reference produce today
// KCS_STAGE_SUITE(id) adds, for fused kernels, StageTest: case x backend, every stage of the
// fused call run alone with the fused reference's stage input (spec §10.4 tier A), reporting the
// first stage that diverges.
// The tier comes from KCS_TIER (smoke | ci | nightly; default ci). A backend this CPU cannot run
// is a skipped test with the reason, never a pass. gtest sharding (GTEST_TOTAL_SHARDS /
// GTEST_SHARD_INDEX) splits the sweep. KCS_BACKEND_LIB=lib.so[:lib2.so] adds plug-in backends
// (kcs/plugin.h) to the Conformance, Determinism, TileInvariance and StageTest sweeps; they run in
// worker processes (conformance/runner/isolate.h, the kcs binary serves as worker), never loaded
// into the test process. Conformance runs each item as `kcs run` does (conformance/runner/sweep.h:
// guards, crash/timeout verdicts, a failure re-run once to tell flaky from failed). A run that
// differs from the reference only outside the kernel's contract (outside_contract_differs) is a
// skipped test whose message starts "OUTSIDE THE CONTRACT".
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <ostream>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "conformance/fixture/bundle.h"
#include "conformance/runner/catalog.h"
#include "conformance/runner/runner.h"
#include "conformance/runner/stages.h"
#include "conformance/runner/sweep.h"
#include "kcs/backend.h"
#include "kcs/plugin_backend.h"

namespace kcs::suite {

inline Tier env_tier() {
  const char* t = std::getenv("KCS_TIER");
  return parse_tier(t && *t ? t : "ci");
}

struct Param {
  std::string kernel, case_id, backend, tile;
};

inline void PrintTo(const Param& p, std::ostream* os) {
  *os << p.case_id;
  if (!p.backend.empty()) *os << " on " << p.backend;
  if (!p.tile.empty()) *os << " tile " << p.tile;
}

inline std::string sanitize(const std::string& s) {
  std::string o;
  for (char c : s) o += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  return o;
}

inline const Catalog& catalog(const std::string& kernel) {
  static std::map<std::string, Catalog> cache;
  static std::mutex mu;
  std::lock_guard<std::mutex> lock(mu);
  auto it = cache.find(kernel);
  if (it == cache.end()) it = cache.emplace(kernel, load_catalog(kernel_or_throw(kernel))).first;
  return it->second;
}

// Bundles are built once per case and shared by every backend and tile of it.
inline const Bundle& bundle_for(const CaseSpec& cs) {
  static std::map<std::string, std::unique_ptr<Bundle>> cache;
  auto it = cache.find(cs.id);
  if (it == cache.end()) it = cache.emplace(cs.id, std::make_unique<Bundle>(load_or_make_bundle(cs))).first;
  return *it->second;
}

inline const SweepOptions& sweep_options() {
  static const SweepOptions o = [] {
    SweepOptions s;
    s.isolate_builtins = false;  // the built-ins are the suites' own code; plug-ins are isolated
    return s;
  }();
  return o;
}

// The $KCS_BACKEND_LIB plug-ins, each in its worker, started once per process.
inline std::vector<std::unique_ptr<Backend>>& plugin_backends() {
  static std::vector<std::unique_ptr<Backend>> v = [] {
    std::vector<std::unique_ptr<Backend>> out;
    for (const auto& p : env_plugin_paths()) out.push_back(sweep_backend(p, true, sweep_options()));
    return out;
  }();
  return v;
}

inline std::vector<std::string> backend_names() {
  std::vector<std::string> out;
  for (const auto& b : builtin_backends()) out.push_back(b->name());
  for (const auto& b : plugin_backends()) out.push_back(b->name());
  return out;
}

// A built-in (in this process, owned by the caller) or a plug-in (its shared worker).
struct BackendRef {
  std::unique_ptr<Backend> owned;
  Backend* be = nullptr;
  explicit operator bool() const { return be != nullptr; }
  Backend* operator->() const { return be; }
  Backend& operator*() const { return *be; }
};

inline BackendRef backend_named(const std::string& name) {
  BackendRef r;
  if ((r.owned = make_builtin_backend(name))) {
    r.be = r.owned.get();
    return r;
  }
  for (auto& b : plugin_backends())
    if (b->name() == name) r.be = b.get();
  return r;
}

// The optimized variants and the plug-ins: what Determinism and TileInvariance hold to the bit.
inline std::vector<BackendRef> bit_checked_backends() {
  std::vector<BackendRef> out;
  for (Isa isa : {Isa::amx, Isa::avx512, Isa::avx2}) {
    BackendRef r;
    r.owned = make_isa_backend(isa);
    r.be = r.owned.get();
    out.push_back(std::move(r));
  }
  for (auto& b : plugin_backends()) {
    BackendRef r;
    r.be = b.get();
    out.push_back(std::move(r));
  }
  return out;
}

inline std::vector<Param> conformance_params(const std::string& kernel) {
  std::vector<Param> out;
  const Catalog& c = catalog(kernel);
  const std::vector<std::string> names = backend_names();
  for (const auto& cs : select_cases(c, env_tier()))
    for (const auto& b : names)
      for (const auto& t : c.tiles) out.push_back({kernel, cs.id, b, t.name()});
  return out;
}

inline std::vector<Param> case_params(const std::string& kernel) {
  std::vector<Param> out;
  for (const auto& cs : select_cases(catalog(kernel), env_tier()))
    if (cs.expect_error.empty()) out.push_back({kernel, cs.id, "", ""});
  return out;
}

// One parameter per committed bundle file of the kernel (whatever its tier).
inline std::vector<Param> bundle_params(const std::string& kernel) {
  std::vector<Param> out;
  const std::filesystem::path dir = std::filesystem::path(bundle_dir()) / kernel;
  if (!std::filesystem::is_directory(dir)) return out;
  for (const auto& e : std::filesystem::directory_iterator(dir))
    if (e.path().extension() == ".h5") out.push_back({kernel, e.path().stem().string(), "", ""});
  std::sort(out.begin(), out.end(), [](const Param& a, const Param& b) { return a.case_id < b.case_id; });
  return out;
}

inline std::string param_name(const testing::TestParamInfo<Param>& i) {
  const std::string prefix = i.param.kernel + ".";
  const std::string& id = i.param.case_id;
  std::string n = sanitize(id.compare(0, prefix.size(), prefix) == 0 ? id.substr(prefix.size()) : id);
  if (!i.param.backend.empty()) n += "__" + i.param.backend;
  if (!i.param.tile.empty()) n += "__" + sanitize(i.param.tile);
  return n;
}

inline void expect_same_outputs(const KernelDecl& decl, const TensorMap& a, const TensorMap& b, const std::string& what) {
  for (const auto& td : decl.tensors) {
    if (td.role != Role::in) {
      EXPECT_TRUE(a.at(td.name).same_bytes(b.at(td.name))) << td.name << " differs: " << what;
    }
  }
}

// Runs a backend on a case's inputs and returns every tensor of the call.
inline TensorMap call(const KernelDecl& decl, const Bundle& b, Backend& be, const TileConfig& tile, int threads) {
  TensorMap t;
  for (const auto& td : decl.tensors) {
    if (td.role == Role::in) t.emplace(td.name, b.inputs.at(td.name));
    if (td.role == Role::inout) t.emplace(td.name, b.inout_before.at(td.name));
    if (td.role == Role::out) t.emplace(td.name, make_tensor(decl, b.problem, td.name));
  }
  Invocation inv{&decl, &b.problem, &t, tile, threads};
  Status s = be.run(inv);
  EXPECT_TRUE(s.ok) << s.message;
  return t;
}

class Conformance : public testing::TestWithParam<Param> {};
class CaseTest : public testing::TestWithParam<Param> {};
class BundleTest : public testing::TestWithParam<Param> {};

inline void run_conformance(const Param& p) {
  const Catalog& c = catalog(p.kernel);
  const CaseSpec* cs = find_case(c, p.case_id);
  ASSERT_NE(cs, nullptr);
  BackendRef be = backend_named(p.backend);
  ASSERT_TRUE(be);
  // A backend that ignores tiles (the reference) runs each case once; its pass stands for every tile.
  static std::pair<std::string, RunRecord> untiled;
  const std::string key = p.case_id + " on " + p.backend;
  RunRecord r;
  if (be->ignores_tiles() && untiled.first == key) {
    r = untiled.second;
  } else {
    TensorMap unused;
    r = run_item({*cs, TileConfig::parse(p.tile), false}, bundle_for(*cs), *be, sweep_options(), TileConfig{}, unused);
    if (be->ignores_tiles() && r.verdict == Verdict::passed) untiled = {key, r};
  }
  if (r.verdict == Verdict::skipped) GTEST_SKIP() << "skipped: " << r.reason;
  // A difference on a case outside the kernel's contract is neither a pass nor a failure: gtest's
  // skip with a loud message (counted apart in gtest's summary, never silent).
  if (r.verdict == Verdict::outside_contract_differs)
    GTEST_SKIP() << "OUTSIDE THE CONTRACT, differs (not a failure): " << r.reason << "\n  repro: " << r.repro;
  for (const auto& chk : r.checks)
    EXPECT_TRUE(chk.passed) << chk.name << " [" << chk.contract << "]: " << chk.message << "\n  repro: " << r.repro;
  EXPECT_EQ(r.verdict, Verdict::passed) << r.reason << "\n  repro: " << r.repro;
}

// Calls f(decl, catalog, bundle, backend) for every bit-checked backend that runs the case's kernel
// on this CPU; skips the test loudly when none does.
template <class F>
void for_each_bit_checked(const Param& p, F f) {
  const KernelDecl& decl = kernel_or_throw(p.kernel);
  const Catalog& c = catalog(p.kernel);
  const CaseSpec* cs = find_case(c, p.case_id);
  ASSERT_NE(cs, nullptr);
  const Bundle& b = bundle_for(*cs);
  int ran = 0;
  for (BackendRef& be : bit_checked_backends()) {
    if (!be->availability().runnable || !be->supports(p.kernel)) continue;
    ++ran;
    f(decl, c, b, *be);
  }
  if (!ran) GTEST_SKIP() << "skipped: no optimized variant runs on this CPU";
}

inline void run_determinism(const Param& p) {
  for_each_bit_checked(p, [](const KernelDecl& decl, const Catalog&, const Bundle& b, Backend& be) {
    const TensorMap one = call(decl, b, be, TileConfig{}, 1);
    const TensorMap again = call(decl, b, be, TileConfig{}, 1);
    const TensorMap two = call(decl, b, be, TileConfig{}, 2);
    expect_same_outputs(decl, one, again, be.name() + " run twice");
    expect_same_outputs(decl, one, two, be.name() + " 1 vs 2 threads");
  });
}

inline void run_tile_invariance(const Param& p) {
  for_each_bit_checked(p, [](const KernelDecl& decl, const Catalog& c, const Bundle& b, Backend& be) {
    const TensorMap base = call(decl, b, be, c.tiles.front(), 2);
    for (const auto& t : c.tiles) {
      // Only configurations that differ from the first in bit-invariant knobs must agree bitwise.
      bool invariant_only = true;
      for (const auto& kd : decl.knobs)
        if (!kd.bit_invariant && t.get(decl, kd.name) != c.tiles.front().get(decl, kd.name)) invariant_only = false;
      if (!invariant_only) continue;
      expect_same_outputs(decl, base, call(decl, b, be, t, 2), be.name() + " tile " + t.name());
    }
  });
}

// A case through a Plan (Backend::prepare with the weights, the plan reused for two calls with the
// other tensors, the caller's weights gone by then) gives the bytes of Backend::run, on the
// optimized variants (packing plans and the default one) and the plug-ins (the default one).
inline void run_plan_same_bits(const Param& p) {
  for_each_bit_checked(p, [](const KernelDecl& decl, const Catalog&, const Bundle& b, Backend& be) {
    const TensorMap want = call(decl, b, be, TileConfig{}, 1);
    std::unique_ptr<Plan> plan;
    {
      TensorMap weights;
      for (const auto& td : decl.tensors)
        if (td.weight) weights.emplace(td.name, b.inputs.at(td.name));
      const Status s = be.prepare({&decl, &b.problem, &weights, TileConfig{}, 1}, &plan);
      ASSERT_TRUE(s.ok) << be.name() << ": " << s.message;
    }
    for (int threads : {1, 2}) {
      TensorMap io;
      for (const auto& td : decl.tensors) {
        if (td.weight) continue;
        if (td.role == Role::in) io.emplace(td.name, b.inputs.at(td.name));
        if (td.role == Role::inout) io.emplace(td.name, b.inout_before.at(td.name));
        if (td.role == Role::out) io.emplace(td.name, make_tensor(decl, b.problem, td.name));
      }
      const Status s = plan->run({&decl, &b.problem, &io, TileConfig{}, threads});
      ASSERT_TRUE(s.ok) << be.name() << ": " << s.message;
      expect_same_outputs(decl, want, io, be.name() + " through a plan, threads " + std::to_string(threads));
    }
  });
}

inline std::vector<Param> stage_params(const std::string& kernel) {
  std::vector<Param> out;
  for (const auto& cs : select_cases(catalog(kernel), env_tier()))
    if (cs.expect_error.empty())
      for (const auto& b : backend_names()) out.push_back({kernel, cs.id, b, ""});
  return out;
}

inline void run_stage_checks(const Param& p) {
  const CaseSpec* cs = find_case(catalog(p.kernel), p.case_id);
  ASSERT_NE(cs, nullptr);
  ASSERT_NE(find_stages(p.kernel), nullptr) << p.kernel << " has no stages in conformance/stages/registry.cc";
  BackendRef be = backend_named(p.backend);
  ASSERT_TRUE(be);
  if (!be->availability().runnable) GTEST_SKIP() << "skipped: " << be->availability().reason;
  static StageBundles stage_bundles;  // the case's stage references, reused by its next backends
  const auto recs = run_stages(*cs, bundle_for(*cs), *be, 1, &stage_bundles);
  ASSERT_FALSE(recs.empty()) << "no stages";
  std::string first;
  for (const auto& r : recs) {
    for (const auto& c : r.composition) EXPECT_TRUE(c.passed) << c.name << ": " << c.message;
    for (const auto& c : r.run.checks)
      EXPECT_TRUE(c.passed) << "stage " << r.stage << ": " << c.name << " [" << c.contract << "]: " << c.message;
    EXPECT_TRUE(r.run.verdict == Verdict::passed || r.run.verdict == Verdict::skipped)
        << "stage " << r.stage << ": " << verdict_name(r.run.verdict) << ": " << r.run.reason;
    if (first.empty() && !r.passed()) first = r.stage;
  }
  EXPECT_TRUE(first.empty()) << "first diverging stage: " << first << "\n  repro: " << recs.front().run.repro;
}

inline void run_bundle_fresh(const Param& p) {
  const CaseSpec* cs = find_case(catalog(p.kernel), p.case_id);
  ASSERT_NE(cs, nullptr) << "committed bundle " << p.case_id << ".h5 matches no case of the catalog: remove it";
  const std::string path = committed_bundle_path(*cs);
  const Bundle committed = read_bundle(path);
  const Bundle fresh = make_bundle(*cs);
  auto same = [&](const TensorMap& a, const TensorMap& b2, const char* group) {
    ASSERT_EQ(a.size(), b2.size()) << group;
    for (const auto& [name, t] : a) {
      EXPECT_TRUE(t.same_bytes(b2.at(name))) << path << ": /" << group << "/" << name
                                             << " differs from what kcs generates today; regenerate with "
                                                "`kcs gen --case "
                                             << cs->id << " --out fixtures/bundles`";
    }
  };
  same(committed.inputs, fresh.inputs, "inputs");
  same(committed.outputs, fresh.outputs, "outputs");
  same(committed.inout_before, fresh.inout_before, "inout_before");
  same(committed.inout_after, fresh.inout_after, "inout_after");
}

}  // namespace kcs::suite

#define KCS_CONFORMANCE_SUITE(kernel_id)                                                                         \
  namespace {                                                                                                    \
  using kcs::suite::CaseTest;                                                                                    \
  using kcs::suite::Conformance;                                                                                 \
  TEST_P(Conformance, MeetsContracts) { kcs::suite::run_conformance(GetParam()); }                              \
  TEST_P(CaseTest, Deterministic) { kcs::suite::run_determinism(GetParam()); }                                  \
  TEST_P(CaseTest, TileInvariant) { kcs::suite::run_tile_invariance(GetParam()); }                              \
  TEST_P(CaseTest, PlanSameBits) { kcs::suite::run_plan_same_bits(GetParam()); }                                \
  using kcs::suite::BundleTest;                                                                                  \
  TEST_P(BundleTest, CommittedBundleFresh) { kcs::suite::run_bundle_fresh(GetParam()); }                        \
  INSTANTIATE_TEST_SUITE_P(kernel_id, Conformance, testing::ValuesIn(kcs::suite::conformance_params(#kernel_id)), \
                           kcs::suite::param_name);                                                              \
  INSTANTIATE_TEST_SUITE_P(kernel_id, CaseTest, testing::ValuesIn(kcs::suite::case_params(#kernel_id)),          \
                           kcs::suite::param_name);                                                              \
  INSTANTIATE_TEST_SUITE_P(kernel_id, BundleTest, testing::ValuesIn(kcs::suite::bundle_params(#kernel_id)),      \
                           kcs::suite::param_name);                                                              \
  GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(BundleTest);                                                    \
  }

#define KCS_STAGE_SUITE(kernel_id)                                                                               \
  namespace {                                                                                                    \
  class StageTest : public testing::TestWithParam<kcs::suite::Param> {};                                        \
  TEST_P(StageTest, EachStageMeetsContracts) { kcs::suite::run_stage_checks(GetParam()); }                      \
  INSTANTIATE_TEST_SUITE_P(kernel_id, StageTest, testing::ValuesIn(kcs::suite::stage_params(#kernel_id)),        \
                           kcs::suite::param_name);                                                              \
  }
