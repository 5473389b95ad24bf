// Host C API: kcs's backends run through plans (include/kcs/kcs.h, docs/plans.md).
#include <cstring>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "capi/handles.h"
#include "kcs/backend.h"

using namespace kcs;
using namespace kcs::capi;

struct kcs_backend {
  std::unique_ptr<Backend> backend;
};

struct kcs_plan {
  std::unique_ptr<Plan> plan;
  Problem call;  // the plan's problem with a call's dimensions (kept: its nodes are reused)
};

namespace {

nlohmann::json parse_json(const char* text, const char* what) {
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw BadArgument(std::string(what) + " is not JSON: " + e.what());
  }
}

int64_t json_int(const nlohmann::json& v, const std::string& what) {
  if (!v.is_number_integer()) throw BadArgument(what + " must be an integer, not " + v.dump());
  return v.get<int64_t>();
}

std::string attr_text(const nlohmann::json& v, const std::string& what) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_integer()) return std::to_string(v.get<int64_t>());
  if (v.is_number()) return v.dump();  // shortest round-trip text of the double
  throw BadArgument(what + " must be a string or a number, not " + v.dump());
}

bool dense(const kcs_tensor& a) {
  int64_t step = 1;
  for (int32_t d = a.rank; d-- > 0;) {
    if (a.shape[d] != 1 && a.strides[d] != step) return false;
    step *= a.shape[d];
  }
  return true;
}

// The caller's tensors by name: dense ones as views of the caller's memory (out and inout
// tensors are written through them), strided inputs as dense copies. Dtype and shape are checked
// against the declaration by Backend::prepare / Plan::run, which name the tensor.
TensorMap import_tensors(const KernelDecl& decl, const kcs_tensor* ts, int32_t n) {
  if (n < 0) throw BadArgument("n = " + std::to_string(n) + " is negative");
  if (n > 0 && !ts) throw BadArgument("tensors is NULL");
  TensorMap m;
  for (int32_t i = 0; i < n; ++i) {
    const kcs_tensor& a = ts[i];
    if (!a.name) throw BadArgument("tensor " + std::to_string(i) + ": name is NULL");
    const std::string what = "tensor '" + std::string(a.name) + "'";
    const TensorDecl* td = decl.find_tensor(a.name);
    if (!td) throw Error("kernel " + decl.id + ": unexpected tensor '" + a.name + "'");
    if (m.count(a.name)) throw BadArgument(what + " given twice");
    DType dt{};
    if (!a.dtype || !parse_dtype(a.dtype, &dt)) throw Error(what + ": unknown dtype " + (a.dtype ? a.dtype : "NULL"));
    if (a.rank < 0 || a.rank > KCS_MAX_RANK) throw BadArgument(what + ": rank " + std::to_string(a.rank));
    Shape shape(a.shape, a.shape + a.rank);
    for (int64_t s : shape)
      if (s < 0) throw BadArgument(what + ": negative extent in " + shape_str(shape));
    const int64_t numel = shape_numel(shape);
    if (numel > 0 && !a.data) throw BadArgument(what + ": data is NULL");
    void* data = const_cast<void*>(a.data);
    if (numel == 0 || dense(a)) {
      m.emplace(a.name, Tensor::view(dt, shape, data));
      continue;
    }
    if (td->role != Role::in) throw BadArgument(what + ": an out or inout tensor must be dense row-major");
    Tensor t(dt, shape);
    const size_t es = dtype_size(dt);
    const auto* src = static_cast<const uint8_t*>(a.data);
    auto* dst = static_cast<uint8_t*>(t.raw());
    std::vector<int64_t> idx(shape.size(), 0);
    for (int64_t e = 0; e < numel; ++e) {
      int64_t off = 0;
      for (size_t d = 0; d < shape.size(); ++d) off += idx[d] * a.strides[d];
      std::memcpy(dst + static_cast<size_t>(e) * es, src + off * static_cast<int64_t>(es), es);
      for (size_t d = shape.size(); d-- > 0;) {
        if (++idx[d] < shape[d]) break;
        idx[d] = 0;
      }
    }
    m.emplace(a.name, std::move(t));
  }
  return m;
}

const char* text(const char* s, const char* what) {
  if (!s) throw BadArgument(std::string(what) + " is NULL");
  return s;
}

int checked_threads(int32_t threads) {
  if (threads < 1) throw BadArgument("threads = " + std::to_string(threads) + " must be >= 1");
  return threads;
}

}  // namespace

extern "C" {

kcs_status kcs_backend_open(const char* name, kcs_backend** out) {
  return guard([&] {
    kcs_backend*& slot = deref(out, "out");
    slot = nullptr;
    const std::string n = text(name, "name");
    auto be = make_builtin_backend(n);
    if (!be) throw NotFound("unknown backend '" + n + "' (reference, avx512, avx2, optimized)");
    slot = new kcs_backend{std::move(be)};
  });
}

void kcs_backend_free(kcs_backend* b) { delete b; }

kcs_status kcs_plan_prepare(kcs_backend* b, const char* kernel, const char* problem_json, const kcs_tensor* weights,
                            int32_t n, int32_t threads, kcs_plan** out) {
  return guard([&] {
    kcs_plan*& slot = deref(out, "out");
    slot = nullptr;
    Backend& be = *deref(b, "backend").backend;
    const std::string id = text(kernel, "kernel");
    const KernelDecl* decl = find_kernel(id);
    if (!decl) throw NotFound("unknown kernel '" + id + "' (kcs list names them)");
    const nlohmann::json j = parse_json(text(problem_json, "problem_json"), "problem_json");
    if (!j.is_object()) throw BadArgument("problem_json must be an object {\"dims\": {...}, \"attrs\": {...}}");
    Problem p;
    p.kernel = id;
    if (j.contains("dims"))
      for (const auto& [k, v] : j.at("dims").items()) p.dims[k] = json_int(v, "dimension " + k);
    if (j.contains("attrs"))
      for (const auto& [k, v] : j.at("attrs").items()) p.attrs[k] = attr_text(v, "attribute " + k);
    p = complete_problem(*decl, p);
    TensorMap w = import_tensors(*decl, weights, n);
    auto h = std::make_unique<kcs_plan>();
    Status s = be.prepare({decl, &p, &w, {}, checked_threads(threads)}, &h->plan);
    if (!s) throw Error(s.message);
    h->call = p;
    slot = h.release();
  });
}

kcs_status kcs_plan_run(kcs_plan* p, const char* dims_json, const kcs_tensor* tensors, int32_t n, const char* tile,
                        int32_t threads) {
  return guard([&] {
    kcs_plan& h = deref(p, "plan");
    const KernelDecl& decl = h.plan->decl();
    Invocation inv;
    inv.decl = &decl;
    inv.threads = checked_threads(threads);
    if (tile && *tile) inv.tile = TileConfig::parse(tile);
    if (dims_json) {  // else the plan's own problem: validated once, at prepare
      const nlohmann::json j = parse_json(dims_json, "dims_json");
      if (!j.is_object()) throw BadArgument("dims_json must be an object {name: int}");
      h.call.dims = h.plan->problem().dims;
      for (const auto& [k, v] : j.items()) h.call.dims[k] = json_int(v, "dimension " + k);
      inv.problem = &h.call;
    }
    TensorMap m = import_tensors(decl, tensors, n);
    inv.tensors = &m;
    Status s = h.plan->run(inv);
    if (!s) throw Error(s.message);
  });
}

void kcs_plan_free(kcs_plan* p) { delete p; }

}  // extern "C"
