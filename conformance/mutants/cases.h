// The ci-tier cases and bundles the mutants run on, loaded once per process (shared by the cast
// point discovery, the mutants and the controls).
#pragma once

#include <string>
#include <vector>

#include "conformance/fixture/bundle.h"
#include "conformance/runner/catalog.h"
#include "conformance/runner/runner.h"

namespace kcs::mutants {

// ci-tier cases of `kernel` that expect no error, in catalog order.
const std::vector<const CaseSpec*>& ci_cases(const std::string& kernel);
const TileConfig& default_tile(const std::string& kernel);
const TileConfig& last_tile(const std::string& kernel);
const Bundle& bundle_of(const CaseSpec& cs);
// Frees the loaded bundles (after a kernel's mutants have run).
void drop_bundles();

}  // namespace kcs::mutants
