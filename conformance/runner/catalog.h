// Case catalogs (fixtures/catalog/<kernel>.json): shapes, scenarios, tile configurations and
// tiers as data. A catalog entry may give lists for dims and attrs; it expands to their product.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "kcs/backend.h"
#include "kcs/decl.h"

namespace kcs {

enum class Tier { smoke = 0, ci = 1, nightly = 2 };
const char* tier_name(Tier t);
Tier parse_tier(const std::string& s);  // throws on unknown
// smoke is part of ci, ci is part of nightly.
inline bool tier_includes(Tier run, Tier case_tier) { return static_cast<int>(case_tier) <= static_cast<int>(run); }

struct CaseSpec {
  std::string id;  // "q8.random.rows=4.n=17.round_mode=rhaz"
  Tier tier = Tier::ci;
  std::string scenario;       // generator scenario name
  Problem problem;            // complete (attribute defaults filled in)
  uint64_t seed = 0;
  nlohmann::json params;      // scenario parameters
  std::string expect_error;   // non-empty: every backend must reject the call with this text
  // Non-empty: the case's inputs lie outside the kernel's contract (spec §9, E7); this says why.
  // A backend that differs from the reference there gets outside_contract_differs, not failed.
  std::string outside_contract;
  // With outside_contract: the slices of this dimension whose inputs are all finite stay inside
  // the contract and are scored as usual ("row isolation"); empty: the whole case is outside.
  std::string in_contract_dim;
  // The inputs whose NaN / Inf put a slice outside (empty: every input), and the outputs that lie
  // outside there (empty: every output; the others stay inside the contract everywhere).
  std::vector<std::string> outside_inputs, outside_outputs;
};

struct Catalog {
  const KernelDecl* decl = nullptr;
  std::vector<CaseSpec> cases;
  std::vector<TileConfig> tiles;  // swept by the conformance suites; the first is the default
};

// The directory holding catalogs: $KCS_CATALOG_DIR, else <prefix>/share/kcs/catalog of an installed
// kcs (conformance/runner/data_dir.h), else <source>/fixtures/catalog.
std::string catalog_dir();
// The directory holding committed bundles: $KCS_BUNDLE_DIR, else <prefix>/share/kcs/bundles, else
// <source>/fixtures/bundles.
std::string bundle_dir();

Catalog load_catalog(const KernelDecl& decl);  // throws kcs::Error naming the file and entry
Catalog parse_catalog(const KernelDecl& decl, const nlohmann::json& j, const std::string& origin);
// Cases of `tier` (and below) whose id matches `pattern` ('*' wildcards; empty = all).
std::vector<CaseSpec> select_cases(const Catalog& c, Tier tier, const std::string& pattern = "");
const CaseSpec* find_case(const Catalog& c, const std::string& id);
bool glob_match(const std::string& pattern, const std::string& s);

}  // namespace kcs
