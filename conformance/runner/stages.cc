#include "conformance/runner/stages.h"

#include <cmath>

#include "conformance/compare/compare.h"
#include "kcs/status.h"

namespace kcs {

namespace {

const Tensor* lookup(const Bundle& b, const std::string& name, bool after) {
  const TensorMap* order_in[] = {&b.inputs, &b.inout_before, &b.intermediates, &b.outputs};
  const TensorMap* order_out[] = {&b.outputs, &b.inout_after, &b.intermediates};
  if (after) {
    for (const TensorMap* m : order_out)
      if (auto it = m->find(name); it != m->end()) return &it->second;
  } else {
    for (const TensorMap* m : order_in)
      if (auto it = m->find(name); it != m->end()) return &it->second;
  }
  return nullptr;
}

Error stage_error(const Stage& st, const std::string& what) {
  return Error("stage '" + st.name + "' (" + st.problem.kernel + "): " + what);
}

}  // namespace

std::vector<std::string> stage_intermediates(const Problem& p) {
  const StagesFn stages = find_stages(p.kernel);
  if (!stages) return {};
  Bundle b;
  b.problem = p;  // stages derive from the problem alone
  std::vector<std::string> names;
  for (const Stage& st : stages(b))
    for (const auto& [prim, fused] : st.bind) names.push_back(fused);
  return names;
}

bool StageRecord::passed() const {
  for (const auto& c : composition)
    if (!c.passed) return false;
  return run.verdict == Verdict::passed || run.verdict == Verdict::skipped;
}

Bundle make_stage_bundle(const Stage& st, const Bundle& fused) {
  const KernelDecl& decl = kernel_or_throw(st.problem.kernel);
  CaseSpec cs;
  cs.id = fused.case_id + "#" + st.name;
  cs.problem = complete_problem(decl, st.problem);
  if (Status s = validate_problem(decl, cs.problem); !s) throw stage_error(st, s.message);
  TensorMap given;
  for (const auto& td : decl.tensors) {
    if (td.role == Role::out) continue;
    auto bit = st.bind.find(td.name);
    if (bit == st.bind.end()) throw stage_error(st, "primitive tensor '" + td.name + "' is not bound");
    const Tensor* t = lookup(fused, bit->second, false);
    if (!t) throw stage_error(st, "fused tensor '" + bit->second + "' (for '" + td.name + "') is not in the bundle");
    const Tensor want = make_tensor(decl, cs.problem, td.name);
    if (t->dtype() != want.dtype() || t->shape() != want.shape())
      throw stage_error(st, "fused tensor '" + bit->second + "' is " + dtype_name(t->dtype()) + " " +
                                shape_str(t->shape()) + ", '" + td.name + "' needs " + dtype_name(want.dtype()) +
                                " " + shape_str(want.shape()));
    given.emplace(td.name, *t);
  }
  Bundle b = make_bundle_from(cs, std::move(given));
  b.tier = fused.tier;
  return b;
}

std::vector<StageRecord> run_stages(const CaseSpec& fused_case, const Bundle& fused, Backend& backend, int threads,
                                    StageBundles* reuse) {
  std::vector<StageRecord> out;
  StagesFn fn = find_stages(fused.problem.kernel);
  if (!fn) return out;
  const std::vector<Stage> stages = fn(fused);
  StageBundles own;
  StageBundles& made = reuse ? *reuse : own;
  if (!reuse || made.case_id != fused_case.id || made.stages.size() != stages.size()) {
    made.case_id.clear();
    made.stages.clear();
    for (const Stage& st : stages) {
      StageBundles::One one;
      try {
        one.bundle = make_stage_bundle(st, fused);
      } catch (const Error& e) {
        one.error = e.what();
      }
      made.stages.push_back(std::move(one));
    }
    made.case_id = fused_case.id;
  }
  for (size_t si = 0; si < stages.size(); ++si) {
    const Stage& st = stages[si];
    StageRecord rec;
    rec.stage = st.name;
    const KernelDecl& decl = kernel_or_throw(st.problem.kernel);
    const Bundle& sb = made.stages[si].bundle;
    if (!made.stages[si].error.empty()) {
      CheckResult c;
      c.name = st.name + ".bindings";
      c.contract = "stage inputs present in the fused bundle";
      c.message = made.stages[si].error;
      c.margin = INFINITY;
      rec.composition.push_back(c);
      out.push_back(std::move(rec));
      continue;
    }
    for (const auto& td : decl.tensors) {
      if (td.role == Role::in) continue;
      auto bit = st.bind.find(td.name);
      if (bit == st.bind.end() || st.not_composed.count(td.name)) continue;
      const Tensor* want = lookup(fused, bit->second, true);
      const Tensor& got = td.role == Role::out ? sb.outputs.at(td.name) : sb.inout_after.at(td.name);
      CheckResult c;
      c.name = st.name + "." + td.name + " == fused " + bit->second;
      c.contract = "exact (the fused reference is composed of the primitive references)";
      if (!want) {
        c.message = "fused tensor '" + bit->second + "' is not in the bundle";
      } else if (!got.same_bytes(*want)) {
        c.message = "the primitive reference's " + td.name + " differs from the fused reference's " + bit->second;
      } else {
        c.passed = true;
      }
      c.margin = c.passed ? 0 : INFINITY;
      rec.composition.push_back(c);
    }
    CaseSpec scs;
    scs.id = fused_case.id + "#" + st.name;
    scs.tier = fused_case.tier;
    scs.problem = sb.problem;
    rec.run = run_case(scs, sb, backend, TileConfig{}, threads);
    rec.run.repro = repro_command(fused_case.id, backend.name(), "default", threads) + " --stages";
    out.push_back(std::move(rec));
  }
  return out;
}

}  // namespace kcs
