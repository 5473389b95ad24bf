// Host C API: kernels, declarations, cases and their tensors (include/kcs/kcs.h).
#include <cstdlib>
#include <cstring>

#include "capi/handles.h"
#include "conformance/runner/data_dir.h"

using namespace kcs;
using namespace kcs::capi;

namespace kcs::capi {

static thread_local std::string t_error;
void set_error(const std::string& msg) { t_error = msg; }

char* dup_string(const std::string& s) {
  char* p = static_cast<char*>(std::malloc(s.size() + 1));
  if (!p) throw std::bad_alloc();
  std::memcpy(p, s.c_str(), s.size() + 1);
  return p;
}

}  // namespace kcs::capi

namespace {

const KernelDecl& kernel_named(const char* id) {
  if (!id) throw BadArgument("kernel is NULL");
  const KernelDecl* k = find_kernel(id);
  if (!k) throw NotFound(std::string("unknown kernel '") + id + "' (kcs list names them)");
  return *k;
}

Tier tier_named(const char* t) {
  if (!t) throw BadArgument("tier is NULL");
  const std::string s(t);
  if (s != "smoke" && s != "ci" && s != "nightly") throw NotFound("unknown tier '" + s + "' (smoke|ci|nightly)");
  return parse_tier(s);
}

const char* attr_kind(AttrDecl::Kind k) {
  switch (k) {
    case AttrDecl::Kind::integer: return "integer";
    case AttrDecl::Kind::real: return "real";
    case AttrDecl::Kind::choice: return "choice";
  }
  return "?";
}

nlohmann::json case_json(const CaseSpec& cs) {
  return {{"id", cs.id},         {"kernel", cs.problem.kernel}, {"tier", tier_name(cs.tier)},
          {"scenario", cs.scenario}, {"seed", cs.seed},       {"dims", cs.problem.dims},
          {"attrs", cs.problem.attrs}, {"expect_error", cs.expect_error},
          {"outside_contract", cs.outside_contract}, {"in_contract_dim", cs.in_contract_dim}};
}

void out_json(char** out, const nlohmann::json& j) { deref(out, "out") = dup_string(j.dump()); }

}  // namespace

extern "C" {

int32_t kcs_api_version(void) { return KCS_API_VERSION; }
const char* kcs_version(void) { return KCS_VERSION; }
const char* kcs_last_error(void) { return t_error.c_str(); }
void kcs_free_string(char* s) { std::free(s); }

kcs_status kcs_data_dirs_json(char** out) {
  return guard([&] { out_json(out, {{"catalog", catalog_dir()}, {"bundles", bundle_dir()}}); });
}

kcs_status kcs_kernels_json(char** out) {
  return guard([&] {
    nlohmann::json j = nlohmann::json::array();
    for (const KernelDecl* k : all_kernels()) j.push_back({{"id", k->id}, {"title", k->title}, {"spec", k->spec}});
    out_json(out, j);
  });
}

kcs_status kcs_declaration_json(const char* kernel, char** out) {
  return guard([&] {
    const KernelDecl& d = kernel_named(kernel);
    nlohmann::json j = {{"id", d.id}, {"title", d.title}, {"spec", d.spec}};
    j["dims"] = nlohmann::json::array();
    for (const auto& x : d.dims) j["dims"].push_back({{"name", x.name}, {"doc", x.doc}, {"min", x.min}});
    j["attrs"] = nlohmann::json::array();
    for (const auto& a : d.attrs)
      j["attrs"].push_back({{"name", a.name}, {"kind", attr_kind(a.kind)}, {"default", a.default_value},
                            {"choices", a.choices}, {"doc", a.doc}});
    j["tensors"] = nlohmann::json::array();
    for (const auto& t : d.tensors)
      j["tensors"].push_back({{"name", t.name}, {"role", role_name(t.role)}, {"dtype", dtype_name(t.dtype)},
                              {"dtype_attr", t.dtype_attr}, {"shape", t.shape},
                              {"contract", t.role == Role::in ? "" : t.contract.str()}, {"doc", t.doc},
                              {"weight", t.weight}});
    j["knobs"] = nlohmann::json::array();
    for (const auto& k : d.knobs)
      j["knobs"].push_back({{"name", k.name}, {"default", k.default_value}, {"bit_invariant", k.bit_invariant},
                            {"doc", k.doc}});
    j["invariants"] = nlohmann::json::array();
    for (const auto& i : d.invariants) j["invariants"].push_back({{"name", i.name}, {"doc", i.doc}});
    j["tiles"] = nlohmann::json::array();
    for (const auto& t : load_catalog(d).tiles) j["tiles"].push_back(t.name());
    out_json(out, j);
  });
}

kcs_status kcs_cases_json(const char* kernel, const char* tier, const char* pattern, char** out) {
  return guard([&] {
    const KernelDecl& d = kernel_named(kernel);
    const Tier t = tier_named(tier);
    nlohmann::json j = nlohmann::json::array();
    for (const auto& cs : select_cases(load_catalog(d), t, pattern ? pattern : "")) j.push_back(case_json(cs));
    out_json(out, j);
  });
}

kcs_status kcs_case_open(const char* case_id, kcs_case** out) {
  return guard([&] {
    kcs_case*& slot = deref(out, "out");
    slot = nullptr;
    if (!case_id) throw BadArgument("case_id is NULL");
    const std::string id(case_id);
    const KernelDecl* d = find_kernel(id.substr(0, id.find('.')));
    if (!d) throw NotFound("unknown case '" + id + "': no kernel '" + id.substr(0, id.find('.')) + "'");
    const Catalog cat = load_catalog(*d);
    const CaseSpec* cs = find_case(cat, id);
    if (!cs) throw NotFound("unknown case '" + id + "' (kcs list " + d->id + " names the cases)");
    auto c = std::make_unique<kcs_case>();
    c->spec = *cs;
    c->bundle = load_or_make_bundle(*cs);
    for (const auto& t : cat.tiles) c->tiles.push_back(t.name());
    for (const auto& td : d->tensors) {
      const Bundle& b = c->bundle;
      if (td.role == Role::in) c->inputs.push_back({&td, &b.inputs.at(td.name)});
      if (td.role == Role::inout) c->inputs.push_back({&td, &b.inout_before.at(td.name)});
      if (!cs->expect_error.empty()) continue;
      if (td.role == Role::out) c->expected.push_back({&td, &b.outputs.at(td.name)});
      if (td.role == Role::inout) c->expected.push_back({&td, &b.inout_after.at(td.name)});
    }
    slot = c.release();
  });
}

void kcs_case_free(kcs_case* c) { delete c; }

kcs_status kcs_case_info_json(const kcs_case* c, char** out) {
  return guard([&] {
    nlohmann::json j = case_json(deref(c, "case").spec);
    j["tiles"] = c->tiles;
    out_json(out, j);
  });
}

int32_t kcs_case_tensor_count(const kcs_case* c, int32_t which) {
  if (!c || (which != KCS_INPUTS && which != KCS_EXPECTED)) return 0;
  return static_cast<int32_t>(which == KCS_INPUTS ? c->inputs.size() : c->expected.size());
}

kcs_status kcs_case_tensor(const kcs_case* c, int32_t which, int32_t i, kcs_tensor* out) {
  return guard([&] {
    const kcs_case& cs = deref(c, "case");
    kcs_tensor& o = deref(out, "out");
    if (which != KCS_INPUTS && which != KCS_EXPECTED) throw BadArgument("which must be KCS_INPUTS or KCS_EXPECTED");
    const auto& list = which == KCS_INPUTS ? cs.inputs : cs.expected;
    if (i < 0 || static_cast<size_t>(i) >= list.size())
      throw BadArgument("tensor index " + std::to_string(i) + " out of range (" + std::to_string(list.size()) + ")");
    const auto& [td, t] = list[static_cast<size_t>(i)];
    if (t->rank() > KCS_MAX_RANK) throw Error("tensor '" + td->name + "' has rank above KCS_MAX_RANK");
    o = kcs_tensor{};
    o.name = td->name.c_str();
    o.dtype = dtype_name(t->dtype());
    o.role = td->role == Role::in ? KCS_ROLE_IN : td->role == Role::out ? KCS_ROLE_OUT : KCS_ROLE_INOUT;
    o.rank = static_cast<int32_t>(t->rank());
    int64_t stride = 1;
    for (int d = o.rank - 1; d >= 0; --d) {
      o.shape[d] = t->dim(static_cast<size_t>(d));
      o.strides[d] = stride;
      stride *= o.shape[d];
    }
    o.data = t->raw();
    o.nbytes = t->nbytes();
  });
}

}  // extern "C"
