// `kcs explain KERNEL`: the kernel's definition (docs/kernels/<kernel>.md, embedded in the
// binary at build time) and its declaration.
#pragma once

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace kcs {

struct KernelDoc {
  std::string kernel;  // file name without .md
  const char* text;
};
// Every docs/kernels/*.md, sorted by name (generated file).
const std::vector<KernelDoc>& kernel_docs();

class ExplainCommand {
 public:
  explicit ExplainCommand(CLI::App& app);
  bool parsed() const { return sub_->parsed(); }
  int run() const;  // exit code

 private:
  CLI::App* sub_;
  std::vector<std::string> kernels_;
  bool check_ = false;
};

}  // namespace kcs
