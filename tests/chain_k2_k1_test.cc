// K2 -> K1 chaining (spec §1.9, P3): K2 mla_prolog's q_norm_out / q_norm_scale_out (and its
// token_x) are K1 indexer_prolog's q_norm / q_norm_scale / x. The fused pipeline of each
// optimized backend (its K2 outputs fed to its K1) is held to int_code(2, 1%) on q_int8 against
// the reference pipeline (reference K2 fed to reference K1): one q_norm code that K2 may move by
// 1 can move a K1 code by one more.
#include <gtest/gtest.h>

#include <string>

#include "conformance/compare/compare.h"
#include "conformance/runner/catalog.h"
#include "conformance/runner/runner.h"
#include "kcs/backend.h"
#include "kcs/contract.h"

namespace {

using namespace kcs;

// Every non-out tensor of a bundle (inputs and inout before-states).
TensorMap given_of(const Bundle& b) {
  TensorMap t = b.inputs;
  for (const auto& [name, tensor] : b.inout_before) t.emplace(name, tensor);
  return t;
}

TensorMap run_backend(Backend& be, const Bundle& b) {
  const KernelDecl& decl = kernel_or_throw(b.problem.kernel);
  TensorMap t = given_of(b);
  for (const auto& td : decl.tensors)
    if (td.role == Role::out) t.emplace(td.name, make_tensor(decl, b.problem, td.name));
  Invocation inv{&decl, &b.problem, &t, TileConfig{}, 1};
  const Status s = be.run(inv);
  EXPECT_TRUE(s.ok) << be.name() << " " << b.problem.kernel << ": " << s.message;
  return t;
}

// A K1 case with K2's token count, hidden size and q_lora rank.
CaseSpec k1_case_like(const Problem& k2) {
  const Catalog c1 = load_catalog(kernel_or_throw("indexer_prolog"));
  for (const CaseSpec& cs : select_cases(c1, Tier::ci)) {
    if (cs.scenario != "random" || !cs.expect_error.empty()) continue;
    CaseSpec k1 = cs;
    k1.id = "indexer_prolog.chained_from." + k2.kernel;
    for (const char* d : {"t", "h", "q_lora"}) k1.problem.dims[d] = k2.dim(d);
    const Status s = validate_problem(kernel_or_throw("indexer_prolog"), k1.problem);
    if (s) return k1;
  }
  throw Error("no random indexer_prolog case to chain into");
}

TEST(ChainK2K1, FusedPipelineQInt8WithinIntCode2) {
  const Catalog c2 = load_catalog(kernel_or_throw("mla_prolog"));
  int chained = 0;
  for (const CaseSpec& cs2 : select_cases(c2, Tier::ci)) {
    // Quant mode, small shapes with several tokens: the §8 sets (t = 7 and 33).
    if (!cs2.expect_error.empty() || cs2.problem.attr("q_dtype") != "int8") continue;
    if (cs2.problem.dim("t") < 7 || cs2.problem.dim("h") > 1024) continue;
    SCOPED_TRACE(cs2.id);
    const Bundle b2 = make_bundle(cs2);
    const CaseSpec cs1 = k1_case_like(b2.problem);
    const Bundle b1 = make_bundle(cs1);  // K1's own random weights, caches and tables

    TensorMap ref_in = given_of(b1);
    ref_in.at("x") = b2.inputs.at("token_x");
    ref_in.at("q_norm") = b2.outputs.at("q_norm_out");
    ref_in.at("q_norm_scale") = b2.outputs.at("q_norm_scale_out");
    const Bundle ref_chain = make_bundle_from(cs1, ref_in);

    for (Isa isa : {Isa::avx512, Isa::avx2}) {
      auto be = make_isa_backend(isa);
      if (!be->availability().runnable) continue;
      const TensorMap k2 = run_backend(*be, b2);
      Bundle opt_in = ref_chain;
      opt_in.inputs.at("q_norm") = k2.at("q_norm_out");
      opt_in.inputs.at("q_norm_scale") = k2.at("q_norm_scale_out");
      const TensorMap k1 = run_backend(*be, opt_in);
      const CheckResult r =
          compare_tensor("q_int8", ref_chain.outputs.at("q_int8"), k1.at("q_int8"), Contract::IntCode(2, 0.01));
      EXPECT_TRUE(r.passed) << be->name() << ": " << r.message;
      ++chained;
    }
    if (chained >= 4) break;  // two K2 cases x both ISAs keep this test short
  }
  if (!chained) GTEST_SKIP() << "no optimized variant runs on this CPU";
}

}  // namespace
