// Host C API: scoring an implementation's outputs against a case (include/kcs/kcs.h).
#include <cinttypes>
#include <cmath>
#include <cstring>

#include "capi/handles.h"
#include "conformance/runner/outside_contract.h"
#include "conformance/runner/results.h"

using namespace kcs;
using namespace kcs::capi;

namespace {

// A dense copy of a caller's tensor, after checking it against the declaration.
Tensor import_tensor(const kcs_tensor& a, const TensorDecl& td, const Problem& p) {
  const DType dt = tensor_dtype(td, p);
  const Shape shape = tensor_shape(td, p);
  const std::string what = "tensor '" + td.name + "'";
  if (!a.dtype || std::strcmp(a.dtype, dtype_name(dt)) != 0)
    throw Error(what + ": dtype " + (a.dtype ? a.dtype : "NULL") + ", expected " + dtype_name(dt));
  if (a.rank < 0 || a.rank > KCS_MAX_RANK || static_cast<size_t>(a.rank) != shape.size())
    throw Error(what + ": rank " + std::to_string(a.rank) + ", expected " + std::to_string(shape.size()) + " " +
                shape_str(shape));
  for (size_t d = 0; d < shape.size(); ++d)
    if (a.shape[d] != shape[d])
      throw Error(what + ": shape " + shape_str(Shape(a.shape, a.shape + a.rank)) + ", expected " + shape_str(shape));
  Tensor t(dt, shape);
  if (t.empty()) return t;
  if (!a.data) throw Error(what + ": data is NULL");
  const size_t es = dtype_size(dt);
  const auto* src = static_cast<const uint8_t*>(a.data);
  auto* dst = static_cast<uint8_t*>(t.raw());
  // Odometer over the index space; offsets in elements may be negative (flipped views).
  std::vector<int64_t> idx(shape.size(), 0);
  for (int64_t n = 0; n < t.numel(); ++n) {
    int64_t off = 0;
    for (size_t d = 0; d < shape.size(); ++d) off += idx[d] * a.strides[d];
    std::memcpy(dst + static_cast<size_t>(n) * es, src + off * static_cast<int64_t>(es), es);
    for (size_t d = shape.size(); d-- > 0;) {
      if (++idx[d] < shape[d]) break;
      idx[d] = 0;
    }
  }
  return t;
}

std::string or_default(const char* s, const char* dflt) { return s && *s ? s : dflt; }

kcs_score* new_score(const kcs_case& c, const char* backend, const char* tile, const char* repro) {
  auto s = std::make_unique<kcs_score>();
  s->run.kernel = c.spec.problem.kernel;
  s->run.case_id = c.spec.id;
  s->run.backend = or_default(backend, "external");
  s->run.tile = or_default(tile, "default");
  s->run.repro = or_default(repro, "");
  s->run.verdict = Verdict::passed;  // until a check fails or the call was refused
  return s.release();
}

// `got`: the scored outputs, so that a case outside the contract is judged as `kcs run` judges it.
void finish(kcs_score& s, const kcs_case* c = nullptr, const TensorMap* got = nullptr) {
  if (s.run.verdict != Verdict::error) {
    s.run.verdict = Verdict::passed;
    for (const auto& k : s.run.checks)
      if (!k.passed) {
        s.run.verdict = Verdict::failed;
        s.run.reason = k.name + ": " + k.message;
        break;
      }
  }
  if (c && got) settle_outside_contract(c->spec, kernel_or_throw(c->spec.problem.kernel), c->bundle, *got, s.run);
  s.text = run_text(s.run);
  // A failure in a case outside the contract lies in its in-contract rows: the reason says so.
  if (c && !c->spec.outside_contract.empty() && s.run.verdict == Verdict::failed)
    s.text.insert(s.text.find('\n') + 1, "  " + s.run.reason + "\n");
}

std::string fmt_g(double v) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

}  // namespace

namespace kcs::capi {

std::string run_text(const RunRecord& r) {
  std::string t = r.case_id + " on " + r.backend + " [tile " + r.tile + "]: " + verdict_name(r.verdict) + "\n";
  if (r.verdict == Verdict::error || r.verdict == Verdict::outside_contract_differs) t += "  " + r.reason + "\n";
  for (const auto& c : r.checks) {
    if (c.passed) continue;
    t += "  " + c.name + " (" + c.contract + ", margin " + fmt_g(c.margin) + "): " + c.message + "\n";
    const Metrics& m = c.metrics;
    if (m.numel && c.name.rfind("invariant:", 0) != 0)
      t += "    " + std::to_string(m.mismatches) + " of " + std::to_string(m.numel) +
           " elements differ, max ulp " + std::to_string(m.max_ulp) + ", max abs " + fmt_g(m.max_abs) + "\n";
    size_t shown = 0;
    for (const auto& w : m.worst) {
      if (shown++ == 5) break;
      std::string idx;
      for (int64_t i : w.index) idx += (idx.empty() ? "" : ", ") + std::to_string(i);
      t += "    [" + idx + "] expected " + fmt_g(w.expected) + " actual " + fmt_g(w.actual) + " (ulp " +
           std::to_string(w.ulp) + ")\n";
    }
  }
  if (!r.repro.empty()) t += "  repro: " + r.repro + "\n";
  return t;
}

}  // namespace kcs::capi

extern "C" {

kcs_status kcs_case_score(const kcs_case* c, const kcs_tensor* actual, int32_t n, const char* backend,
                          const char* tile, const char* repro, double seconds, kcs_score** out) {
  return guard([&] {
    kcs_score*& slot = deref(out, "out");
    slot = nullptr;
    const kcs_case& cs = deref(c, "case");
    if (n < 0 || (n > 0 && !actual)) throw BadArgument("actual is NULL or n < 0");
    const KernelDecl& decl = kernel_or_throw(cs.spec.problem.kernel);
    std::unique_ptr<kcs_score> s(new_score(cs, backend, tile, repro));
    s->run.seconds = seconds;
    if (!cs.spec.expect_error.empty()) {
      CheckResult r;
      r.name = "rejects_input";
      r.contract = "error containing '" + cs.spec.expect_error + "', nothing written";
      r.message = "the backend accepted an input that must be rejected";
      r.margin = INFINITY;
      s->run.checks.push_back(r);
      finish(*s);
      slot = s.release();
      return;
    }
    TensorMap got;
    for (int32_t i = 0; i < n; ++i) {
      const kcs_tensor& a = actual[i];
      if (!a.name) throw BadArgument("actual[" + std::to_string(i) + "].name is NULL");
      const TensorDecl* td = decl.find_tensor(a.name);
      if (!td) throw NotFound("tensor '" + std::string(a.name) + "' is not declared by " + decl.id);
      if (td->role == Role::in) throw Error("tensor '" + td->name + "' is an input of " + decl.id + ", not an output");
      if (got.count(td->name)) throw Error("tensor '" + td->name + "' given twice");
      got.emplace(td->name, import_tensor(a, *td, cs.bundle.problem));
    }
    for (const auto& td : decl.tensors)
      if (td.role != Role::in && !got.count(td.name))
        throw Error("output '" + td.name + "' of " + decl.id + " missing (" +
                    (td.role == Role::inout ? "inout tensors are scored by their full state after the call"
                                            : "every out tensor is scored") + ")");
    s->run.checks = score_outputs(decl, cs.bundle, got);
    finish(*s, &cs, &got);
    slot = s.release();
  });
}

kcs_status kcs_case_score_rejection(const kcs_case* c, const char* message, const char* backend, const char* tile,
                                    const char* repro, kcs_score** out) {
  return guard([&] {
    kcs_score*& slot = deref(out, "out");
    slot = nullptr;
    const kcs_case& cs = deref(c, "case");
    const std::string msg = message ? message : "";
    std::unique_ptr<kcs_score> s(new_score(cs, backend, tile, repro));
    if (cs.spec.expect_error.empty()) {
      s->run.verdict = Verdict::error;
      s->run.reason = "the backend refused a valid call: " + msg;
    } else {
      CheckResult r;
      r.name = "rejects_input";
      r.contract = "error containing '" + cs.spec.expect_error + "', nothing written";
      r.passed = msg.find(cs.spec.expect_error) != std::string::npos;
      if (!r.passed) r.message = "rejected with an unexpected message: " + msg;
      r.margin = r.passed ? 0 : INFINITY;
      s->run.checks.push_back(r);
    }
    finish(*s);
    slot = s.release();
  });
}

void kcs_score_free(kcs_score* s) { delete s; }
const char* kcs_score_verdict(const kcs_score* s) { return s ? verdict_name(s->run.verdict) : ""; }
const char* kcs_score_reason(const kcs_score* s) { return s ? s->run.reason.c_str() : ""; }
const char* kcs_score_repro(const kcs_score* s) { return s ? s->run.repro.c_str() : ""; }
const char* kcs_score_text(const kcs_score* s) { return s ? s->text.c_str() : ""; }
int32_t kcs_score_check_count(const kcs_score* s) { return s ? static_cast<int32_t>(s->run.checks.size()) : 0; }

kcs_status kcs_score_check(const kcs_score* s, int32_t i, kcs_check* out) {
  return guard([&] {
    const kcs_score& sc = deref(s, "score");
    kcs_check& o = deref(out, "out");
    if (i < 0 || static_cast<size_t>(i) >= sc.run.checks.size())
      throw BadArgument("check index " + std::to_string(i) + " out of range");
    const CheckResult& c = sc.run.checks[static_cast<size_t>(i)];
    o = kcs_check{c.name.c_str(), c.contract.c_str(), c.passed ? 1 : 0, c.margin, c.message.c_str(),
                  c.metrics.numel, c.metrics.mismatches, c.metrics.max_ulp, c.metrics.max_abs, c.metrics.max_rel};
  });
}

kcs_status kcs_score_json(const kcs_score* s, char** out) {
  return guard([&] {
    const kcs_score& sc = deref(s, "score");
    const nlohmann::json j = results_json({sc.run}, "", sc.run.repro);
    deref(out, "out") = dup_string(nlohmann::json{{"run", j.at("runs").at(0)}, {"results", j.at("results")}}.dump());
  });
}

}  // extern "C"
