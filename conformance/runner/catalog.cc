#include "conformance/runner/catalog.h"

#include "conformance/runner/json_input.h"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <sstream>

#include "conformance/runner/data_dir.h"

namespace kcs {

const char* tier_name(Tier t) {
  switch (t) {
    case Tier::smoke: return "smoke";
    case Tier::ci: return "ci";
    case Tier::nightly: return "nightly";
  }
  return "?";
}

Tier parse_tier(const std::string& s) {
  if (s == "smoke") return Tier::smoke;
  if (s == "ci") return Tier::ci;
  if (s == "nightly") return Tier::nightly;
  throw Error("unknown tier '" + s + "' (smoke|ci|nightly)");
}

static std::string env_or(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v && *v ? v : fallback;
}

// An environment variable, else the installed data next to this code, else the source tree.
std::string catalog_dir() {
  const std::string inst = installed_data_dir();
  return env_or("KCS_CATALOG_DIR", inst.empty() ? std::string(KCS_SOURCE_DIR) + "/fixtures/catalog" : inst + "/catalog");
}
std::string bundle_dir() {
  const std::string inst = installed_data_dir();
  return env_or("KCS_BUNDLE_DIR", inst.empty() ? std::string(KCS_SOURCE_DIR) + "/fixtures/bundles" : inst + "/bundles");
}

bool glob_match(const std::string& p, const std::string& s) {
  // Iterative '*' matcher with backtracking to the last star.
  size_t i = 0, j = 0, star = std::string::npos, mark = 0;
  while (j < s.size()) {
    if (i < p.size() && p[i] == '*') {
      star = i++;
      mark = j;
    } else if (i < p.size() && p[i] == s[j]) {
      ++i;
      ++j;
    } else if (star != std::string::npos) {
      i = star + 1;
      j = ++mark;
    } else {
      return false;
    }
  }
  while (i < p.size() && p[i] == '*') ++i;
  return i == p.size();
}

namespace {

std::string scalar_str(const nlohmann::json& v, const std::string& where) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_integer()) return std::to_string(v.get<int64_t>());
  if (v.is_number_float()) {
    std::ostringstream os;
    os.precision(17);
    os << v.get<double>();
    return os.str();
  }
  throw Error(where + ": expected a string or number, got " + v.dump());
}

// A value or a list of values.
std::vector<nlohmann::json> alternatives(const nlohmann::json& v) {
  if (v.is_array()) return std::vector<nlohmann::json>(v.begin(), v.end());
  return {v};
}

// "outside_contract": "why" | {"reason": "why", "in_contract_dim": "rows", "inputs": [...],
// "outputs": [...]}. The dimension must lead every tensor that holds it (a slice of it is then a
// smaller case of the same kernel) and the kernel must have no inout tensor (a cache row may be
// written by any token).
void parse_outside_contract(const KernelDecl& decl, const nlohmann::json& v, const std::string& where, CaseSpec& oc) {
  const std::string at = where + ": outside_contract";
  std::string& reason = oc.outside_contract;
  std::string& dim = oc.in_contract_dim;
  auto names = [&](const char* key, Role role, std::vector<std::string>& out) {
    if (!v.contains(key)) return;
    if (!v.at(key).is_array()) throw Error(at + ": '" + key + "' must be a list of tensor names");
    for (const auto& n : v.at(key)) {
      const TensorDecl* td = n.is_string() ? decl.find_tensor(n.get<std::string>()) : nullptr;
      if (!td || td->role != role)
        throw Error(at + ": '" + key + "' names " + n.dump() + ", not an " + (role == Role::in ? "input" : "output") +
                    " of " + decl.id);
      out.push_back(td->name);
    }
  };
  if (v.is_string()) {
    reason = v.get<std::string>();
  } else if (v.is_object()) {
    for (const auto& [k, x] : v.items()) {
      if (k != "reason" && k != "in_contract_dim" && k != "inputs" && k != "outputs")
        throw Error(at + ": unknown key '" + k + "' (reason, in_contract_dim, inputs, outputs)");
      if (!x.is_string() && k != "inputs" && k != "outputs") throw Error(at + ": '" + k + "' must be a string");
    }
    reason = v.value("reason", "");
    dim = v.value("in_contract_dim", "");
    names("inputs", Role::in, oc.outside_inputs);
    names("outputs", Role::out, oc.outside_outputs);
  } else {
    throw Error(at + " must be a string (the reason) or an object {reason, in_contract_dim, inputs, outputs}");
  }
  if (reason.find_first_not_of(" \t\n") == std::string::npos) throw Error(at + " needs a reason");
  if (dim.empty()) return;
  if (!std::any_of(decl.dims.begin(), decl.dims.end(), [&](const DimDecl& d) { return d.name == dim; }))
    throw Error(at + ": in_contract_dim '" + dim + "' is not a dimension of " + decl.id);
  for (const auto& td : decl.tensors)
    if (td.role == Role::inout) throw Error(at + ": in_contract_dim needs a kernel without inout tensors (" + td.name + ")");
  for (const auto& td : decl.tensors) {
    for (size_t i = 0; i < td.shape.size(); ++i) {
      const DimExpr e = DimExpr::parse(td.shape[i]);
      if (e.dim == dim && (i > 0 || e.mul != 1 || e.div != 1 || e.constant != 0))
        throw Error(at + ": in_contract_dim '" + dim + "' is not the leading dimension of tensor " + td.name);
    }
  }
}

}  // namespace

Catalog parse_catalog(const KernelDecl& decl, const nlohmann::json& j, const std::string& origin) {
  Catalog c;
  c.decl = &decl;
  if (!j.is_object() || j.value("kernel", "") != decl.id)
    throw Error(origin + ": expected an object with \"kernel\": \"" + decl.id + "\"");
  for (const auto& t : j.value("tiles", nlohmann::json::array())) {
    TileConfig tc = TileConfig::parse(t.get<std::string>());
    for (const auto& [k, v] : tc.knobs)
      if (!decl.find_knob(k)) throw Error(origin + ": tile config '" + tc.name() + "' names unknown knob " + k);
    c.tiles.push_back(tc);
  }
  if (c.tiles.empty()) c.tiles.push_back(TileConfig{});

  const auto& entries = j.at("cases");
  for (size_t e = 0; e < entries.size(); ++e) {
    const auto& ent = entries[e];
    const std::string where = origin + ": cases[" + std::to_string(e) + "]";
    const std::string name = ent.at("name").get<std::string>();
    const Tier tier = parse_tier(ent.value("tier", "ci"));
    const std::string scenario = ent.value("scenario", "random");
    const uint64_t seed = ent.value("seed", uint64_t{1});
    const nlohmann::json params = ent.value("params", nlohmann::json::object());
    const std::string expect_error = ent.value("expect_error", "");
    CaseSpec oc;  // the outside_contract fields
    if (ent.contains("outside_contract")) parse_outside_contract(decl, ent.at("outside_contract"), where, oc);

    // Axes in a fixed order: dims as declared, then attrs as declared.
    struct Axis {
      std::string key;
      bool is_dim;
      std::vector<nlohmann::json> values;
    };
    std::vector<Axis> axes;
    const auto dims = ent.value("dims", nlohmann::json::object());
    const auto attrs = ent.value("attrs", nlohmann::json::object());
    for (const auto& [k, v] : dims.items())
      if (!std::any_of(decl.dims.begin(), decl.dims.end(), [&](const DimDecl& d) { return d.name == k; }))
        throw Error(where + ": unknown dimension '" + k + "'");
    for (const auto& [k, v] : attrs.items())
      if (!decl.find_attr(k)) throw Error(where + ": unknown attribute '" + k + "'");
    for (const auto& d : decl.dims)
      if (dims.contains(d.name)) axes.push_back({d.name, true, alternatives(dims[d.name])});
    for (const auto& a : decl.attrs)
      if (attrs.contains(a.name)) axes.push_back({a.name, false, alternatives(attrs[a.name])});

    std::function<void(size_t, Problem&, std::string)> expand = [&](size_t ax, Problem& p, std::string id) {
      if (ax == axes.size()) {
        CaseSpec cs;
        cs.id = id;
        cs.tier = tier;
        cs.scenario = scenario;
        cs.problem = complete_problem(decl, p);
        cs.seed = seed;
        cs.params = params;
        cs.expect_error = expect_error;
        cs.outside_contract = oc.outside_contract;
        cs.in_contract_dim = oc.in_contract_dim;
        cs.outside_inputs = oc.outside_inputs;
        cs.outside_outputs = oc.outside_outputs;
        Status s = validate_problem(decl, cs.problem);
        if (!s) throw Error(where + " (" + id + "): " + s.message);
        for (const auto& other : c.cases)
          if (other.id == cs.id) throw Error(where + ": duplicate case id " + cs.id);
        c.cases.push_back(std::move(cs));
        return;
      }
      const Axis& a = axes[ax];
      for (const auto& v : a.values) {
        Problem q = p;
        const std::string val = scalar_str(v, where + "." + a.key);
        std::string nid = id;
        if (a.is_dim) {
          q.dims[a.key] = v.is_number_integer() ? v.get<int64_t>() : throw Error(where + ": dim " + a.key + " must be an integer");
          nid += "." + a.key + "=" + val;
        } else {
          q.attrs[a.key] = val;
          // Only attributes that vary in the entry, or differ from the default, name the case.
          if (a.values.size() > 1 || val != decl.find_attr(a.key)->default_value) nid += "." + a.key + "=" + val;
        }
        expand(ax + 1, q, nid);
      }
    };
    Problem p;
    p.kernel = decl.id;
    expand(0, p, decl.id + "." + name);
  }
  return c;
}

Catalog load_catalog(const KernelDecl& decl) {
  const std::string path = catalog_dir() + "/" + decl.id + ".json";
  nlohmann::json j;
  try {
    j = read_json_file(path);  // bounded in size and depth like every JSON input
  } catch (const Error& e) {
    throw Error(std::string("catalog: ") + e.what());
  }
  try {
    return parse_catalog(decl, j, path);
  } catch (const nlohmann::json::exception& e) {
    throw Error("catalog " + path + ": " + e.what());
  }
}

std::vector<CaseSpec> select_cases(const Catalog& c, Tier tier, const std::string& pattern) {
  std::vector<CaseSpec> out;
  for (const auto& cs : c.cases)
    if (tier_includes(tier, cs.tier) && (pattern.empty() || glob_match(pattern, cs.id))) out.push_back(cs);
  return out;
}

const CaseSpec* find_case(const Catalog& c, const std::string& id) {
  for (const auto& cs : c.cases)
    if (cs.id == id) return &cs;
  return nullptr;
}

}  // namespace kcs
