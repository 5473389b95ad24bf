#include "conformance/mutants/cases.h"

#include <map>
#include <memory>

namespace kcs::mutants {

namespace {

struct Store {
  std::map<std::string, Catalog> catalogs;
  std::map<std::string, std::vector<const CaseSpec*>> cases;
  std::map<std::string, std::unique_ptr<Bundle>> bundles;
};
Store& store() {
  static Store s;
  return s;
}

const Catalog& catalog(const std::string& kernel) {
  Store& s = store();
  auto it = s.catalogs.find(kernel);
  if (it == s.catalogs.end()) it = s.catalogs.emplace(kernel, load_catalog(kernel_or_throw(kernel))).first;
  return it->second;
}

}  // namespace

const std::vector<const CaseSpec*>& ci_cases(const std::string& kernel) {
  Store& s = store();
  auto it = s.cases.find(kernel);
  if (it != s.cases.end()) return it->second;
  std::vector<const CaseSpec*> v;
  for (const auto& c : catalog(kernel).cases)
    if (tier_includes(Tier::ci, c.tier) && c.expect_error.empty()) v.push_back(&c);
  return s.cases.emplace(kernel, std::move(v)).first->second;
}

const TileConfig& default_tile(const std::string& kernel) { return catalog(kernel).tiles.front(); }
const TileConfig& last_tile(const std::string& kernel) { return catalog(kernel).tiles.back(); }

const Bundle& bundle_of(const CaseSpec& cs) {
  Store& s = store();
  auto it = s.bundles.find(cs.id);
  if (it == s.bundles.end()) it = s.bundles.emplace(cs.id, std::make_unique<Bundle>(load_or_make_bundle(cs))).first;
  return *it->second;
}

void drop_bundles() { store().bundles.clear(); }

}  // namespace kcs::mutants
