// Cases outside a kernel's contract (spec §9 and decision E7): the catalog keeps them to document
// one behaviour (the reference's), marked "outside_contract" with the reason. A backend that
// differs from the reference there is reported outside_contract_differs: counted apart, never a
// pass and never a plain failure. With "in_contract_dim", the slices of that dimension whose
// inputs are all finite stay inside the contract ("row isolation", spec §9 K1-K3): a difference
// there is an ordinary failure.
#pragma once

#include <cstdint>
#include <vector>

#include "conformance/fixture/bundle.h"
#include "conformance/runner/catalog.h"
#include "conformance/runner/runner.h"

namespace kcs {

// Per slice of cs.in_contract_dim: 1 when every element of the slice of the inputs that decide
// (cs.outside_inputs, empty = all) is finite and those without that dimension are finite too.
// Empty when the case has no in_contract_dim.
std::vector<uint8_t> in_contract_slices(const CaseSpec& cs, const KernelDecl& decl, const Bundle& b);

// `actual` with every output element outside the contract replaced by the reference's: in the
// outputs cs.outside_outputs lists (empty = all), the slices that in_contract_slices() rejects,
// and whole outputs without the dimension (they depend on every slice) when any slice is
// rejected; with no in_contract_dim, those outputs whole.
TensorMap mask_outside(const CaseSpec& cs, const KernelDecl& decl, const Bundle& b, const TensorMap& actual,
                       const std::vector<uint8_t>& in_contract);

// Called by run_case on a failed run of an outside-the-contract case, after scoring. A failed
// integrity check (input written, guard bytes, FP environment) keeps the failure. Otherwise the
// in-contract part is scored alone: failing, its checks replace the output checks and the run
// stays failed; passing, the run becomes outside_contract_differs with the full-case checks.
void settle_outside_contract(const CaseSpec& cs, const KernelDecl& decl, const Bundle& b, const TensorMap& actual,
                             RunRecord& r);

// The reason line of an outside_contract_differs run: "outside the contract (<why>): differs in ...".
std::string outside_contract_reason(const CaseSpec& cs, const std::vector<CheckResult>& checks,
                                    const std::vector<uint8_t>& in_contract);

}  // namespace kcs
