#include "conformance/runner/outside_contract.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "conformance/compare/compare.h"
#include "conformance/runner/guard.h"

namespace kcs {

namespace {

bool leads_with(const TensorDecl& td, const std::string& dim) {
  return !td.shape.empty() && DimExpr::parse(td.shape[0]).dim == dim;
}

bool listed(const std::vector<std::string>& names, const std::string& n) {
  return names.empty() || std::find(names.begin(), names.end(), n) != names.end();
}

bool is_float(DType d) { return d == DType::bf16 || d == DType::fp16 || d == DType::fp32 || d == DType::fp64; }

// Integrity checks say what the backend did to memory that is not its output: never excused.
bool integrity_check(const CheckResult& c) {
  return is_integrity_check(c.name) || c.name == "rejects_input";
}

}  // namespace

std::vector<uint8_t> in_contract_slices(const CaseSpec& cs, const KernelDecl& decl, const Bundle& b) {
  if (cs.in_contract_dim.empty()) return {};
  const int64_t n = b.problem.dim(cs.in_contract_dim);
  std::vector<uint8_t> ok(static_cast<size_t>(n), 1);
  for (const auto& td : decl.tensors) {
    if (td.role != Role::in || !listed(cs.outside_inputs, td.name)) continue;
    const Tensor& t = b.inputs.at(td.name);
    if (!is_float(t.dtype()) || t.numel() == 0) continue;
    const bool sliced = leads_with(td, cs.in_contract_dim);
    const int64_t per = sliced ? t.numel() / n : t.numel();
    for (int64_t i = 0; i < t.numel(); ++i)
      if (!std::isfinite(element_value(t, i))) {
        if (!sliced) return std::vector<uint8_t>(static_cast<size_t>(n), 0);
        ok[static_cast<size_t>(i / per)] = 0;
      }
  }
  return ok;
}

TensorMap mask_outside(const CaseSpec& cs, const KernelDecl& decl, const Bundle& b, const TensorMap& actual,
                       const std::vector<uint8_t>& in_contract) {
  TensorMap out = actual;
  bool any_outside = cs.in_contract_dim.empty();  // no dimension: the listed outputs are outside whole
  for (uint8_t k : in_contract) any_outside |= k == 0;
  if (!any_outside) return out;
  for (const auto& td : decl.tensors) {
    if (td.role != Role::out || !listed(cs.outside_outputs, td.name)) continue;
    const Tensor& e = b.outputs.at(td.name);
    Tensor& a = out.at(td.name);
    if (a.dtype() != e.dtype() || a.shape() != e.shape()) continue;  // scored as the failure it is
    if (cs.in_contract_dim.empty() || !leads_with(td, cs.in_contract_dim)) {
      a = e;
      continue;
    }
    const size_t n = in_contract.size(), per = n ? e.nbytes() / n : 0;
    for (size_t i = 0; i < n; ++i)
      if (!in_contract[i])
        std::memcpy(static_cast<uint8_t*>(a.raw()) + i * per, static_cast<const uint8_t*>(e.raw()) + i * per, per);
  }
  return out;
}

std::string outside_contract_reason(const CaseSpec& cs, const std::vector<CheckResult>& checks,
                                    const std::vector<uint8_t>& in_contract) {
  std::string names, first;
  for (const auto& c : checks)
    if (!c.passed) {
      names += (names.empty() ? "" : ", ") + c.name;
      if (first.empty()) first = c.name + ": " + c.message;
    }
  std::string s = "outside the contract (" + cs.outside_contract + "): differs in " + names;
  if (!in_contract.empty()) {
    size_t kept = 0;
    for (uint8_t k : in_contract) kept += k;
    s += "; the " + std::to_string(kept) + " of " + std::to_string(in_contract.size()) + " " + cs.in_contract_dim +
         " slices whose inputs are all finite match";
  }
  return s + "; " + first;
}

void settle_outside_contract(const CaseSpec& cs, const KernelDecl& decl, const Bundle& b, const TensorMap& actual,
                             RunRecord& r) {
  if (cs.outside_contract.empty() || !cs.expect_error.empty() || r.verdict != Verdict::failed) return;
  for (const auto& c : r.checks)
    if (!c.passed && integrity_check(c)) return;
  const std::vector<uint8_t> in_contract = in_contract_slices(cs, decl, b);
  // The in-contract part alone: every output element outside replaced by the reference's.
  std::vector<CheckResult> inside = score_outputs(decl, b, mask_outside(cs, decl, b, actual, in_contract));
  for (const auto& c : inside)
    if (!c.passed) {
      // The in-contract part fails on its own: an ordinary failure, judged on it alone.
      const std::string part = cs.in_contract_dim.empty()
                                   ? "the outputs the case's reason does not cover"
                                   : "the " + cs.in_contract_dim + " slices whose inputs are all finite";
      r.reason = c.name + " (inside the contract: " + part + "): " + c.message;
      std::vector<CheckResult> kept;
      for (auto& k : r.checks)
        if (integrity_check(k)) kept.push_back(std::move(k));
      for (auto& k : inside) kept.push_back(std::move(k));
      r.checks = std::move(kept);
      return;
    }
  r.verdict = Verdict::outside_contract_differs;
  r.reason = outside_contract_reason(cs, r.checks, in_contract);
}

}  // namespace kcs
