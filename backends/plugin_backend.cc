#include "kcs/plugin_backend.h"

#include <dlfcn.h>

#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <sstream>

#include "kcs/plugin.h"

namespace kcs {

static_assert(static_cast<int>(DType::bf16) == KCS_DTYPE_BF16 && static_cast<int>(DType::fp16) == KCS_DTYPE_FP16 &&
                  static_cast<int>(DType::fp32) == KCS_DTYPE_FP32 && static_cast<int>(DType::fp64) == KCS_DTYPE_FP64 &&
                  static_cast<int>(DType::i8) == KCS_DTYPE_I8 && static_cast<int>(DType::u8) == KCS_DTYPE_U8 &&
                  static_cast<int>(DType::i32) == KCS_DTYPE_I32 && static_cast<int>(DType::i64) == KCS_DTYPE_I64 &&
                  static_cast<int>(DType::e2m1x2) == KCS_DTYPE_E2M1X2 &&
                  static_cast<int>(DType::ue4m3x4) == KCS_DTYPE_UE4M3X4,
              "kcs_dtype numbering is part of the plug-in ABI and must follow kcs::DType");

namespace {

bool valid_name(const std::string& n) {
  if (n.empty() || n.size() > 64) return false;
  for (char c : n)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.')) return false;
  return true;
}

// "build/libfoo.so" -> "foo": the name a plug-in gets when it cannot tell its own.
std::string stem_name(const std::string& path) {
  std::string s = std::filesystem::path(path).stem().string();
  if (s.rfind("lib", 0) == 0 && s.size() > 3) s = s.substr(3);
  return valid_name(s) ? s : "plugin";
}

}  // namespace

PluginBackend::~PluginBackend() {
  if (handle_) dlclose(handle_);
}

std::unique_ptr<PluginBackend> PluginBackend::load(const std::string& path) {
  std::unique_ptr<PluginBackend> b(new PluginBackend());
  b->path_ = path;
  b->name_ = stem_name(path);
  b->describe_ = "plug-in " + path;
  auto fail = [&](const std::string& why) {
    b->error_ = "cannot use plug-in " + path + ": " + why;
    b->describe_ = "broken plug-in " + path + " (" + why + ")";
    b->run_ = nullptr;
    return std::move(b);
  };
  dlerror();
  // RTLD_NODELETE: a plug-in's static state survives the backend objects that the suites create
  // and drop per test; RTLD_LOCAL keeps its symbols from satisfying another plug-in's.
  b->handle_ = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
  if (!b->handle_) {
    const char* e = dlerror();
    return fail(std::string("dlopen failed: ") + (e ? e : "unknown error"));
  }
  auto sym = [&](const char* name) { return dlsym(b->handle_, name); };

  // The version first: nothing else of a plug-in of another ABI version is called.
  auto abi = reinterpret_cast<kcs_plugin_abi_version_fn>(sym("kcs_plugin_abi_version"));
  if (!abi) return fail("missing symbol kcs_plugin_abi_version (is it exported with extern \"C\"?)");
  const uint32_t v = abi();
  if (v != KCS_PLUGIN_ABI_VERSION)
    return fail("wrong ABI version " + std::to_string(v) + ": this kcs speaks kcs/plugin.h ABI version " +
                std::to_string(KCS_PLUGIN_ABI_VERSION) + "; rebuild the plug-in against this kcs's plugin.h");

  std::string missing;
  auto need = [&](const char* name) {
    void* p = sym(name);
    if (!p) missing += (missing.empty() ? "" : ", ") + std::string(name);
    return p;
  };
  auto name_fn = reinterpret_cast<kcs_plugin_name_fn>(need("kcs_plugin_name"));
  auto kernels_fn = reinterpret_cast<kcs_plugin_kernels_fn>(need("kcs_plugin_kernels"));
  void* run = need("kcs_plugin_run");
  if (!missing.empty()) return fail("missing symbol(s) " + missing);

  const char* n = name_fn();
  if (!n || !valid_name(n)) return fail("kcs_plugin_name() must return [A-Za-z0-9_.-]{1,64}");
  if (make_builtin_backend(n)) return fail(std::string("plug-in name '") + n + "' is a built-in backend's name");
  b->name_ = n;
  const char* const* ks = kernels_fn();
  if (!ks) return fail("kcs_plugin_kernels() returned NULL (want a NULL-terminated list)");
  for (; *ks; ++ks) b->kernels_.push_back(*ks);
  if (auto d = reinterpret_cast<kcs_plugin_describe_fn>(sym("kcs_plugin_describe")); d && d())
    b->describe_ = std::string(d()) + " (plug-in " + path + ")";
  b->run_ = run;
  return b;
}

bool PluginBackend::supports(const std::string& kernel) const {
  if (!error_.empty()) return true;  // so that every case records the load error
  for (const auto& k : kernels_)
    if (k == kernel) return true;
  return false;
}

Status PluginBackend::execute(const Invocation& inv) {
  if (!error_.empty()) return Status::Fail(error_);
  const KernelDecl& decl = *inv.decl;
  const Problem& p = *inv.problem;

  // Views of every declared tensor; the strings and arrays live until the call returns.
  const size_t nt = decl.tensors.size();
  std::vector<kcs_tensor> tensors(nt);
  std::vector<std::vector<int64_t>> shapes(nt), strides(nt);
  for (size_t i = 0; i < nt; ++i) {
    const TensorDecl& td = decl.tensors[i];
    Tensor& t = inv.out(td.name);
    shapes[i] = t.shape();
    strides[i].assign(t.rank(), 1);
    for (size_t d = t.rank(); d-- > 1;) strides[i][d - 1] = strides[i][d] * t.shape()[d];
    kcs_tensor& k = tensors[i];
    k.name = td.name.c_str();
    k.dtype = static_cast<int32_t>(t.dtype());
    k.role = td.role == Role::in ? KCS_ROLE_IN : td.role == Role::out ? KCS_ROLE_OUT : KCS_ROLE_INOUT;
    k.rank = static_cast<int32_t>(t.rank());
    k.shape = shapes[i].data();
    k.strides = strides[i].data();
    k.data = t.empty() ? nullptr : t.raw();
  }
  std::vector<kcs_int_value> dims;
  for (const auto& [name, v] : p.dims) dims.push_back({name.c_str(), v});
  std::vector<kcs_str_value> attrs;
  for (const auto& a : decl.attrs) {
    auto it = p.attrs.find(a.name);
    attrs.push_back({a.name.c_str(), it != p.attrs.end() ? it->second.c_str() : a.default_value.c_str()});
  }
  std::vector<kcs_int_value> knobs;
  for (const auto& k : decl.knobs) knobs.push_back({k.name.c_str(), inv.knob(k.name)});

  kcs_call call{};
  call.abi_version = KCS_PLUGIN_ABI_VERSION;
  call.struct_size = sizeof(kcs_call);
  call.kernel = decl.id.c_str();
  call.case_id = "";
  call.n_tensors = static_cast<int32_t>(tensors.size());
  call.tensors = tensors.data();
  call.n_dims = static_cast<int32_t>(dims.size());
  call.dims = dims.data();
  call.n_attrs = static_cast<int32_t>(attrs.size());
  call.attrs = attrs.data();
  call.n_knobs = static_cast<int32_t>(knobs.size());
  call.knobs = knobs.data();
  call.threads = inv.threads;

  char msg[2048] = {0};
  const int32_t rc = reinterpret_cast<kcs_plugin_run_fn>(run_)(&call, msg, sizeof msg);
  msg[sizeof msg - 1] = '\0';
  if (rc == KCS_STATUS_OK) return Status::Ok();
  const char* what = rc == KCS_STATUS_INVALID_ARGUMENT ? "invalid argument"
                     : rc == KCS_STATUS_UNSUPPORTED    ? "unsupported"
                     : rc == KCS_STATUS_INTERNAL       ? "internal error"
                                                       : "unknown status";
  return Status::Fail("plug-in " + name_ + " returned status " + std::to_string(rc) + " (" + what + ")" +
                      (msg[0] ? std::string(": ") + msg : std::string(" without a message")));
}

const PluginBackend* as_plugin(const Backend& b) { return dynamic_cast<const PluginBackend*>(&b); }

const std::vector<std::string>& env_plugin_paths() {
  static const std::vector<std::string> paths = [] {
    std::vector<std::string> out;
    const char* e = std::getenv("KCS_BACKEND_LIB");
    if (!e) return out;
    std::stringstream ss(e);
    std::string item;
    while (std::getline(ss, item, ':'))
      if (!item.empty()) out.push_back(item);
    return out;
  }();
  return paths;
}

std::vector<std::unique_ptr<Backend>> env_plugin_backends() {
  std::vector<std::unique_ptr<Backend>> out;
  for (const auto& p : env_plugin_paths()) out.push_back(PluginBackend::load(p));
  return out;
}

std::vector<std::unique_ptr<Backend>> builtin_and_env_backends() {
  auto out = builtin_backends();
  for (auto& b : env_plugin_backends()) out.push_back(std::move(b));
  return out;
}

std::unique_ptr<Backend> make_builtin_or_env_backend(const std::string& name) {
  if (auto b = make_builtin_backend(name)) return b;
  for (auto& b : env_plugin_backends())
    if (b->name() == name) return std::move(b);
  return nullptr;
}

}  // namespace kcs
