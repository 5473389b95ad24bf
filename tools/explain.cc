// `kcs explain`: prints a kernel's definition and declaration; `kcs explain --check` fails when a
// registered kernel has no definition, or its definition never names one of the declaration's
// tensors, dims, attributes, knobs or invariants (so the two cannot drift apart unnoticed).
#include "tools/explain.h"

#include <cstdio>
#include <set>

#include "kcs/decl.h"

namespace kcs {

namespace {

const KernelDoc* doc_of(const std::string& kernel) {
  for (const auto& d : kernel_docs())
    if (d.kernel == kernel) return &d;
  return nullptr;
}

const char* kind_name(AttrDecl::Kind k) {
  switch (k) {
    case AttrDecl::Kind::integer: return "integer";
    case AttrDecl::Kind::real: return "real";
    case AttrDecl::Kind::choice: return "choice";
  }
  return "?";
}

void print_declaration(const KernelDecl& k) {
  std::printf("\n---------------------------------------------------------------------------\n");
  std::printf("Declaration of %s (what kcs passes to a backend)\n\ndims:\n", k.id.c_str());
  for (const auto& d : k.dims)
    std::printf("  %-16s >= %-4lld %s\n", d.name.c_str(), static_cast<long long>(d.min), d.doc.c_str());
  std::printf("attributes:\n");
  if (k.attrs.empty()) std::printf("  (none)\n");
  for (const auto& a : k.attrs) {
    std::string ch;
    for (const auto& v : a.choices) ch += (ch.empty() ? "" : " | ") + v;
    std::printf("  %-16s %-7s default %-10s%s%s  %s\n", a.name.c_str(), kind_name(a.kind), a.default_value.c_str(),
                ch.empty() ? "" : " choices ", ch.c_str(), a.doc.c_str());
  }
  std::printf("tensors (role, dtype, shape, contract):\n");
  for (const auto& t : k.tensors) {
    std::string shape;
    for (const auto& s : t.shape) shape += (shape.empty() ? "" : ", ") + s;
    const std::string dtype = t.dtype_attr.empty() ? dtype_name(t.dtype) : "<" + t.dtype_attr + ">";
    std::printf("  %-5s %-18s %-12s [%s]%s%s\n        %s\n", role_name(t.role), t.name.c_str(), dtype.c_str(),
                shape.c_str(), t.role == Role::in ? (t.weight ? "  weight" : "") : "  contract ",
                t.role == Role::in ? "" : t.contract.str().c_str(),
                t.doc.c_str());
  }
  std::printf("tile knobs:\n");
  if (k.knobs.empty()) std::printf("  (none)\n");
  for (const auto& kn : k.knobs)
    std::printf("  %-16s default %-6lld %s%s\n", kn.name.c_str(), static_cast<long long>(kn.default_value),
                kn.doc.c_str(), kn.bit_invariant ? " (must not change a bit)" : " (may change results within the contracts)");
  if (!k.invariants.empty()) std::printf("invariants:\n");
  for (const auto& inv : k.invariants) std::printf("  %-22s %s\n", inv.name.c_str(), inv.doc.c_str());
}

// What the definition of `k` lacks; empty when complete. Names must appear in backticks.
std::vector<std::string> gaps(const KernelDecl& k) {
  const KernelDoc* d = doc_of(k.id);
  if (!d) return {"no docs/kernels/" + k.id + ".md"};
  const std::string text = d->text;
  std::vector<std::string> out;
  if (k.spec != "docs/kernels/" + k.id + ".md")
    out.push_back("the declaration of " + k.id + " names its definition '" + k.spec + "', not docs/kernels/" + k.id + ".md");
  auto need = [&](const std::string& what, const std::string& name) {
    if (text.find("`" + name + "`") == std::string::npos)
      out.push_back("docs/kernels/" + k.id + ".md never names " + what + " `" + name + "`");
  };
  for (const auto& x : k.tensors) need("tensor", x.name);
  for (const auto& x : k.dims) need("dim", x.name);
  for (const auto& x : k.attrs) need("attribute", x.name);
  for (const auto& x : k.knobs) need("knob", x.name);
  for (const auto& x : k.invariants) need("invariant", x.name);
  return out;
}

int check_all() {
  std::vector<std::string> problems;
  std::set<std::string> ids;
  for (const KernelDecl* k : all_kernels()) {
    ids.insert(k->id);
    for (auto& g : gaps(*k)) problems.push_back(std::move(g));
  }
  for (const auto& d : kernel_docs())
    if (!ids.count(d.kernel)) problems.push_back("docs/kernels/" + d.kernel + ".md names no registered kernel");
  for (const auto& p : problems) std::printf("kcs explain --check: %s\n", p.c_str());
  std::printf("kcs explain --check: %zu kernels, %zu definitions, %zu problems\n", ids.size(), kernel_docs().size(),
              problems.size());
  return problems.empty() ? 0 : 1;
}

}  // namespace

ExplainCommand::ExplainCommand(CLI::App& app) {
  sub_ = app.add_subcommand("explain", "print a kernel's definition (docs/kernels/KERNEL.md) and its declaration");
  sub_->add_option("kernel", kernels_, "kernel id (repeatable; none: list the definitions)");
  sub_->add_flag("--check", check_, "exit 1 unless every kernel has a definition naming all its declaration");
}

int ExplainCommand::run() const {
  if (check_) return check_all();
  if (kernels_.empty()) {
    std::printf("kernel definitions (kcs explain KERNEL prints one):\n");
    for (const KernelDecl* k : all_kernels())
      std::printf("  %-16s %s%s\n", k->id.c_str(), k->title.c_str(), doc_of(k->id) ? "" : "  (no definition)");
    return 0;
  }
  for (const auto& name : kernels_) {
    const KernelDecl& k = kernel_or_throw(name);
    const KernelDoc* d = doc_of(k.id);
    if (!d) throw Error("kernel '" + k.id + "' has no definition (docs/kernels/" + k.id + ".md is missing)");
    std::printf("%s", d->text);
    print_declaration(k);
  }
  return 0;
}

}  // namespace kcs
