#include "conformance/runner/runner.h"

#include <chrono>
#include <cmath>
#include <filesystem>
#include <limits>
#include <map>

#include "conformance/compare/compare.h"
#include "conformance/runner/isolate.h"
#include "conformance/runner/outside_contract.h"
#include "conformance/runner/stages.h"
#include "fixtures/generators/generators.h"

namespace kcs {

const char* verdict_name(Verdict v) {
  switch (v) {
    case Verdict::passed: return "passed";
    case Verdict::failed: return "failed";
    case Verdict::skipped: return "skipped";
    case Verdict::error: return "error";
    case Verdict::xfail: return "xfail";
    case Verdict::unsupported: return "unsupported";
    case Verdict::crashed: return "crashed";
    case Verdict::timeout: return "timeout";
    case Verdict::out_of_memory: return "out_of_memory";
    case Verdict::flaky: return "flaky";
    case Verdict::not_run: return "not_run";
    case Verdict::outside_contract_differs: return "outside_contract_differs";
  }
  return "?";
}

bool verdict_is_failure(Verdict v) {
  return !(v == Verdict::passed || v == Verdict::skipped || v == Verdict::xfail || v == Verdict::unsupported ||
           v == Verdict::outside_contract_differs);
}

namespace {
std::map<std::string, std::string>& repro_args() {
  static std::map<std::string, std::string> m;
  return m;
}
}  // namespace

void set_repro_backend_arg(const std::string& backend, const std::string& arg) { repro_args()[backend] = arg; }

std::string repro_command(const std::string& case_id, const std::string& backend, const std::string& tile,
                          int threads) {
  auto it = repro_args().find(backend);
  std::string cmd = kcs_exe() + " run --case " + case_id + " " +
                    (it != repro_args().end() ? it->second : "--backend " + backend);
  if (tile != "default") cmd += " --tile " + tile;
  if (threads != 1) cmd += " --threads " + std::to_string(threads);
  return cmd;
}

namespace {

// Inputs and inout `before` states, freshly allocated and generated.
TensorMap generate_inputs(const KernelDecl& decl, const CaseSpec& cs) {
  TensorMap t;
  for (const auto& td : decl.tensors)
    if (td.role != Role::out) t.emplace(td.name, make_tensor(decl, cs.problem, td.name));
  Rng rng(cs.seed);
  find_generator(decl.id)(cs, t, rng);
  return t;
}

// A tensor over the bundle's memory, for a caller that only reads it.
Tensor read_only_view(const Tensor& t) {
  return Tensor::view(t.dtype(), t.shape(), const_cast<void*>(t.raw()));
}

// The tensors of a call: inputs, copies of the inout before-states, poisoned outputs. Inputs
// (`view_inputs`) and before-states (`view_before`) may be views of the bundle when nothing
// writes them.
TensorMap call_tensors(const KernelDecl& decl, const Bundle& b, uint8_t poison, bool view_inputs, bool view_before) {
  TensorMap t;
  for (const auto& td : decl.tensors) {
    switch (td.role) {
      case Role::in:
        t.emplace(td.name, view_inputs ? read_only_view(b.inputs.at(td.name)) : b.inputs.at(td.name));
        break;
      case Role::inout:
        t.emplace(td.name, view_before ? read_only_view(b.inout_before.at(td.name)) : b.inout_before.at(td.name));
        break;
      case Role::out: {
        Tensor o = make_tensor(decl, b.problem, td.name);
        o.fill_bytes(poison);
        t.emplace(td.name, std::move(o));
        break;
      }
    }
  }
  return t;
}

std::vector<uint8_t> touched_mask(const KernelDecl& decl, const Problem& p, const TensorMap& t,
                                  const std::string& name) {
  if (decl.touched_rows) return decl.touched_rows(p, t, name);
  return std::vector<uint8_t>(static_cast<size_t>(t.at(name).rows()), 1);
}

}  // namespace

Bundle make_bundle(const CaseSpec& cs) {
  const KernelDecl& decl = kernel_or_throw(cs.problem.kernel);
  return make_bundle_from(cs, generate_inputs(decl, cs));
}

Bundle make_bundle_from(const CaseSpec& cs, TensorMap t) {
  const KernelDecl& decl = kernel_or_throw(cs.problem.kernel);
  Bundle b;
  b.case_id = cs.id;
  b.tier = tier_name(cs.tier);
  b.generator = std::string("kcs ") + KCS_VERSION;
  b.seed = cs.seed;
  b.problem = cs.problem;
  for (const auto& td : decl.tensors)
    if (td.role == Role::inout) b.touched[td.name] = touched_mask(decl, cs.problem, t, td.name);
  for (const auto& td : decl.tensors) {
    if (td.role == Role::in) b.inputs.emplace(td.name, std::move(t.at(td.name)));
    if (td.role == Role::inout) b.inout_before.emplace(td.name, std::move(t.at(td.name)));
  }
  auto ref = make_reference_backend();
  TensorMap call = call_tensors(decl, b, 0, true, false);  // the reference reads its inputs only
  Extras extras;
  Invocation inv{&decl, &b.problem, &call, TileConfig{}, 1, &extras};
  Status s = ref->run(inv);
  if (!cs.expect_error.empty()) {
    if (s) throw Error("case " + cs.id + " expects the error '" + cs.expect_error + "' but the reference accepted it");
    return b;
  }
  if (!s) throw Error("reference failed on case " + cs.id + ": " + s.message);
  for (const auto& td : decl.tensors) {
    if (td.role == Role::out) b.outputs.emplace(td.name, std::move(call.at(td.name)));
    if (td.role == Role::inout) b.inout_after.emplace(td.name, std::move(call.at(td.name)));
  }
  b.prerounding = std::move(extras.prerounding);
  b.budget = std::move(extras.budget);
  b.intermediates = std::move(extras.intermediates);
  return b;
}

std::string committed_bundle_path(const CaseSpec& cs) {
  return bundle_dir() + "/" + cs.problem.kernel + "/" + cs.id + ".h5";
}

Bundle load_or_make_bundle(const CaseSpec& cs) {
  const std::string path = committed_bundle_path(cs);
  if (cs.expect_error.empty() && std::filesystem::exists(path))
    return read_bundle(path, BundleExtras::scoring, &stage_intermediates);
  return make_bundle(cs);
}

namespace {

// The quantizer inputs behind output `td` (QuantSource), aligned with its rows: one source row per
// output row, NaN where no source row lands (unwritten cache rows). Empty when the bundle lacks the
// source or its shape does not line up (the failure then simply shows fewer causes).
std::vector<double> quant_inputs(const TensorDecl& td, const Bundle& b, int64_t* group) {
  const QuantSource& q = td.quant;
  if (q.tensor.empty()) return {};
  const Tensor* src = nullptr;
  for (const TensorMap* m : {&b.inputs, &b.intermediates})
    if (auto it = m->find(q.tensor); it != m->end()) src = &it->second;
  if (src == nullptr || src->rank() == 0) return {};
  const Tensor& out = td.role == Role::out ? b.outputs.at(td.name) : b.inout_after.at(td.name);
  // Codes are integers or E2M1 nibbles; the same tensor in BF16 (K2's non-quant mode) is no code.
  if (!q.scale && !dtype_is_int(out.dtype()) && out.dtype() != DType::e2m1x2) return {};
  const int64_t src_row = logical_shape(*src).back();
  const int64_t out_numel = shape_numel(logical_shape(out));
  const int64_t out_rows = out.rank() == 0 || out.row_len() == 0 ? 0 : out.numel() / out.row_len();
  if (src_row <= 0 || out_rows <= 0) return {};
  *group = q.group.empty() ? src_row : DimExpr::parse(q.group).eval(b.problem.dims);
  if (*group <= 0 || src_row % *group != 0) return {};
  const int64_t src_n = shape_numel(logical_shape(*src));
  auto value = [&](int64_t i) { return element_value(*src, i); };
  std::vector<double> v;
  if (q.scatter_index.empty()) {
    v.resize(static_cast<size_t>(src_n));
    for (int64_t i = 0; i < src_n; ++i) v[static_cast<size_t>(i)] = value(i);
  } else {
    const Tensor& index = b.inputs.at(q.scatter_index);
    v.assign(static_cast<size_t>(out_rows * src_row), std::numeric_limits<double>::quiet_NaN());
    for (int64_t i = 0; i < index.numel() && (i + 1) * src_row <= src_n; ++i) {
      const int64_t r = index.data<int64_t>()[i];
      if (r < 0 || r >= out_rows) continue;
      for (int64_t j = 0; j < src_row; ++j) v[static_cast<size_t>(r * src_row + j)] = value(i * src_row + j);
    }
  }
  const int64_t want = q.scale ? out_numel * *group : out_numel;
  if (static_cast<int64_t>(v.size()) != want) return {};
  return v;
}

}  // namespace

std::vector<CheckResult> score_outputs(const KernelDecl& decl, const Bundle& b, const TensorMap& actual) {
  std::vector<CheckResult> checks;
  for (const auto& td : decl.tensors) {
    // Error budgets and unrounded values the reference recorded for this output, if any.
    CompareContext ctx;
    if (auto it = b.prerounding.find(td.name); it != b.prerounding.end()) ctx.prerounding = &it->second;
    if (auto it = b.budget.find(td.name); it != b.budget.end()) ctx.budget = &it->second;
    if (!td.contract.k_dim.empty()) ctx.k = b.problem.dim(td.contract.k_dim);
    std::vector<uint8_t> valid;
    if (td.role == Role::out && decl.valid_elements) valid = decl.valid_elements(b.problem, td.name);
    if (!valid.empty()) ctx.valid = &valid;
    int64_t group = 0;
    const std::vector<double> qin = td.role == Role::in ? std::vector<double>() : quant_inputs(td, b, &group);
    if (!qin.empty()) {
      ctx.quant_input = qin.data();
      ctx.quant_n = static_cast<int64_t>(qin.size());
      ctx.quant_group = group;
      ctx.quant_scale = td.quant.scale;
    }
    if (td.role == Role::out) {
      checks.push_back(compare_tensor(td.name, b.outputs.at(td.name), actual.at(td.name), td.contract, nullptr, &ctx));
    } else if (td.role == Role::inout) {
      const auto& mask = b.touched.at(td.name);
      checks.push_back(
          compare_tensor(td.name, b.inout_after.at(td.name), actual.at(td.name), td.contract, &mask, &ctx));
      checks.push_back(check_untouched(td.name + ".untouched", b.inout_before.at(td.name), actual.at(td.name), mask));
    }
  }
  for (const auto& inv : decl.invariants) checks.push_back(inv.check(b.problem, b.inputs, actual));
  return checks;
}

RunRecord run_case(const CaseSpec& cs, const Bundle& b, Backend& backend, const TileConfig& tile, int threads,
                   TensorMap* outputs) {
  const KernelDecl& decl = kernel_or_throw(b.problem.kernel);
  RunRecord r;
  r.kernel = decl.id;
  r.case_id = cs.id;
  r.backend = backend.name();
  r.tile = tile.name();
  r.threads = threads;
  r.repro = repro_command(cs.id, r.backend, r.tile, threads);

  const Availability a = backend.availability();
  if (!a.runnable) {
    r.verdict = Verdict::skipped;
    r.reason = a.reason;
    return r;
  }
  if (!backend.supports(decl.id)) {
    r.verdict = Verdict::skipped;
    r.reason = "kernel not implemented by this backend";
    return r;
  }

  constexpr uint8_t kPoison = 0xA5;
  // Read only: guarded_call copies it into the call's arena and compares the arena with it after.
  const TensorMap given = call_tensors(decl, b, kPoison, true, true);
  CallResult call = guarded_call(backend, decl, b.problem, given, tile, threads, cs.id);
  r.seconds = call.seconds;
  if (call.fault != Fault::none) {
    r.verdict = call.fault == Fault::timeout         ? Verdict::timeout
                : call.fault == Fault::out_of_memory ? Verdict::out_of_memory
                                                     : Verdict::crashed;
    r.reason = call.fault_message;
    return r;
  }
  const Status& s = call.status;
  r.checks = std::move(call.integrity);
  if (outputs) *outputs = call.tensors;
  // Before the other checks: a write after the return explains whatever else differs.
  auto add_late_writes = [&] {
    std::vector<CheckResult> l = late_writes(backend);
    r.checks.insert(r.checks.begin(), l.begin(), l.end());
  };
  auto settle = [&r] {
    for (const auto& c : r.checks)
      if (!c.passed) {
        r.verdict = Verdict::failed;
        r.reason = c.name + ": " + c.message;
        return;
      }
  };

  if (!cs.expect_error.empty()) {
    // Bad input: the backend must refuse with the documented error and write nothing.
    std::string wrote;
    for (const auto& [name, tensor] : call.tensors)
      if (!tensor.same_bytes(given.at(name))) wrote += (wrote.empty() ? "" : ", ") + name;
    CheckResult c;
    c.name = "rejects_input";
    c.contract = "error containing '" + cs.expect_error + "', nothing written";
    if (s) {
      c.message = "the backend accepted an input that must be rejected";
    } else if (s.message.find(cs.expect_error) == std::string::npos) {
      c.message = "rejected with an unexpected message: " + s.message;
    } else if (!wrote.empty()) {
      c.message = "rejected the call but wrote to " + wrote;
    } else {
      c.passed = true;
    }
    c.margin = c.passed ? 0 : INFINITY;
    r.checks.push_back(c);
    add_late_writes();
    r.verdict = Verdict::passed;
    settle();
    return r;
  }

  if (!s) {
    add_late_writes();
    r.verdict = Verdict::error;
    r.reason = s.message;
    // An integrity failure is named even when the call also returned an error.
    for (const auto& c : r.checks) r.reason += "; " + c.name + ": " + c.message;
    return r;
  }
  for (auto& c : score_outputs(decl, b, call.tensors)) r.checks.push_back(std::move(c));
  // Last, so a backend still writing after its return has had the scoring time to show it.
  add_late_writes();
  r.verdict = Verdict::passed;
  settle();
  settle_outside_contract(cs, decl, b, call.tensors, r);
  return r;
}

}  // namespace kcs
