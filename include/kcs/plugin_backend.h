// PluginBackend: a Backend whose kernels live in a shared library speaking the C ABI of
// kcs/plugin.h, loaded with dlopen. It lives on the core side (next to the built-in backends) so
// that `kcs run --backend-lib`, the gtest conformance suites (KCS_BACKEND_LIB) and out-of-tree
// programs linking kcs::kcs all use the same loader.
//
// A plug-in that cannot be used (file missing, not a shared library, wrong ABI version, missing
// symbol, bad name) still yields a backend: one that claims every kernel and fails every call with
// the load error, so that a sweep records it as an error on each case and goes on with the other
// backends. load_error() says why.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "kcs/backend.h"

namespace kcs {

class PluginBackend : public Backend {
 public:
  ~PluginBackend() override;
  std::string name() const override { return name_; }
  std::string describe() const override { return describe_; }
  Availability availability() const override { return {}; }
  bool supports(const std::string& kernel) const override;

  const std::string& path() const { return path_; }
  const std::string& load_error() const { return error_; }  // empty when the plug-in loaded
  const std::vector<std::string>& kernels() const { return kernels_; }  // as the plug-in lists them

  // Never returns null (see above).
  static std::unique_ptr<PluginBackend> load(const std::string& path);

 protected:
  Status execute(const Invocation& inv) override;

 private:
  PluginBackend() = default;
  std::string path_, name_, describe_, error_;
  std::vector<std::string> kernels_;
  void* handle_ = nullptr;
  void* run_ = nullptr;  // kcs_plugin_run_fn
};

// The PluginBackend behind a Backend, or nullptr for any other backend.
const PluginBackend* as_plugin(const Backend& b);

// The plug-ins named by $KCS_BACKEND_LIB (paths separated by ':'), loaded once per process.
// The gtest suites sweep them after the built-in backends.
const std::vector<std::string>& env_plugin_paths();
std::vector<std::unique_ptr<Backend>> env_plugin_backends();

// Built-in backends then $KCS_BACKEND_LIB plug-ins; lookup by name across both.
std::vector<std::unique_ptr<Backend>> builtin_and_env_backends();
std::unique_ptr<Backend> make_builtin_or_env_backend(const std::string& name);

}  // namespace kcs
