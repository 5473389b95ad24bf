// What the public API costs per call besides the kernel, for every kernel (issue: validation and
// dispatch under 1 us per call), on the first smoke case of each catalog (inputs from its
// generator):
//   api_overhead/validate:<kernel>/threads:1  validate_call() alone (dtypes, shapes, attributes,
//                                             check_problem, check_inputs)
//   api_overhead/run:<kernel>/threads:1       Backend::run() of a backend whose kernels return at
//                                             once: availability, support, tile check, validation
//                                             and dispatch, i.e. everything but the kernel
#include <memory>
#include <string>

#include "bench/harness.h"
#include "conformance/runner/catalog.h"
#include "fixtures/generators/generators.h"
#include "kcs/backend.h"

namespace kcs::bench {
namespace {

struct Call {
  const KernelDecl* decl = nullptr;
  Problem problem;
  TensorMap tensors;
};

// The first smoke case of the kernel's catalog that a backend must accept.
std::shared_ptr<Call> first_case(const KernelDecl& d) {
  const Catalog c = load_catalog(d);
  for (const CaseSpec& cs : select_cases(c, Tier::smoke)) {
    if (!cs.expect_error.empty()) continue;
    auto call = std::make_shared<Call>();
    call->decl = &d;
    call->problem = cs.problem;
    for (const auto& td : d.tensors) call->tensors[td.name] = make_tensor(d, cs.problem, td.name);
    Rng rng(cs.seed);
    find_generator(d.id)(cs, call->tensors, rng);
    if (!validate_call(d, call->problem, call->tensors)) continue;
    return call;
  }
  return nullptr;
}

Availability always() { return {}; }

std::unique_ptr<Backend> noop_backend() {
  std::map<std::string, KernelFn> fns;
  for (const KernelDecl* d : all_kernels()) fns[d->id] = [](const Invocation&) { return Status::Ok(); };
  return std::make_unique<TableBackend>("noop", "kernels that return at once", fns, &always);
}

void bm_validate(benchmark::State& st, std::shared_ptr<Call> c) {
  Status s;
  for (auto _ : st) {
    s = validate_call(*c->decl, c->problem, c->tensors);
    benchmark::DoNotOptimize(s);
  }
  if (!s) st.SkipWithError(s.message.c_str());
}

void bm_run(benchmark::State& st, std::shared_ptr<Call> c) {
  auto be = noop_backend();
  Invocation inv;
  inv.decl = c->decl;
  inv.problem = &c->problem;
  inv.tensors = &c->tensors;
  Status s;
  for (auto _ : st) {
    s = be->run(inv);
    benchmark::DoNotOptimize(s);
  }
  if (!s) st.SkipWithError(s.message.c_str());
}

}  // namespace

void register_benchmarks() {
  for (const KernelDecl* d : all_kernels()) {
    std::shared_ptr<Call> c = first_case(*d);
    if (!c) continue;
    benchmark::RegisterBenchmark(("api_overhead/validate:" + d->id + "/threads:1").c_str(), bm_validate, c)
        ->Unit(benchmark::kNanosecond);
    benchmark::RegisterBenchmark(("api_overhead/run:" + d->id + "/threads:1").c_str(), bm_run, c)
        ->Unit(benchmark::kNanosecond);
  }
}

}  // namespace kcs::bench
