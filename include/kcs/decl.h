// Kernel declarations: the single description of a kernel that drives fixtures, the runner,
// the CLI, reports and benches. A declaration names every tensor (role, dtype, shape in named
// dimensions, contract), scalar attribute, tile knob and invariant of one kernel.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "kcs/check.h"
#include "kcs/contract.h"
#include "kcs/dtype.h"
#include "kcs/status.h"
#include "kcs/tensor.h"

namespace kcs {

using Dims = std::map<std::string, int64_t>;
using Attrs = std::map<std::string, std::string>;  // typed through AttrDecl

// One concrete instance of a kernel: its dimensions and attribute values.
struct Problem {
  std::string kernel;
  Dims dims;
  Attrs attrs;

  int64_t dim(const std::string& name) const;
  const std::string& attr(const std::string& name) const;
  double attr_f64(const std::string& name) const;
  int64_t attr_i64(const std::string& name) const;
};

// A fixed set of dimensions read in one walk of a problem's map instead of one search per name,
// for the params functions that run on every call:
//   static const DimReader r({"t", "h", ...});  // every dimension of the declaration
//   int64_t v[13];
//   r.read(p, v);  // v[i] = p.dim(names[i])
// The walk applies when the problem holds exactly these names (a validated problem of the kernel
// does); otherwise each is looked up by name (a missing one throws as Problem::dim does).
class DimReader {
 public:
  explicit DimReader(std::vector<std::string> names);
  size_t size() const { return names_.size(); }
  void read(const Problem& p, int64_t* out) const;

 private:
  std::vector<std::string> names_;
  std::vector<size_t> order_;  // names_ by position, sorted by name
};

enum class Role { in, out, inout };
const char* role_name(Role r);

// A shape entry: "rows", "K/2", "H*D", "1".
struct KernelDecl;
struct DimExpr {
  std::string dim;  // empty for a constant
  int64_t mul = 1;
  int64_t div = 1;
  int64_t constant = 0;

  DimExpr() = default;
  DimExpr(const DimExpr& o) : dim(o.dim), mul(o.mul), div(o.div), constant(o.constant) {}
  DimExpr& operator=(const DimExpr& o) {
    dim = o.dim, mul = o.mul, div = o.div, constant = o.constant;
    slot.store(-1, std::memory_order_relaxed);
    return *this;
  }

  static DimExpr parse(const std::string& s);
  int64_t eval(const Dims& dims) const;  // throws if div does not divide
  // The same with the values of decl.dims by position (validation: no name lookup per entry).
  int64_t eval(const KernelDecl& decl, const int64_t* values) const;
  std::string str() const;

 private:
  // Position of `dim` in the declaration's dims: learned on first use, checked on every use.
  mutable std::atomic<int32_t> slot{-1};
};

// Where a quantized output's inputs come from, so that a failing element shows its cause (its
// quantizer input and its group's amax): `tensor` names an input or a reference intermediate
// holding the quantizer input, row-major, one source row per output row (for a paged cache,
// `scatter_index` names the input of flat slots: cache row index[i] holds source row i, the last
// writer winning); `group` is the number of source elements that share one amax (a DimExpr string;
// empty = the whole source row); `scale`: each output element is the scale of one group.
struct QuantSource {
  std::string tensor;
  std::string group;
  std::string scatter_index;
  bool scale = false;
};

struct TensorDecl {
  std::string name;
  Role role = Role::in;
  DType dtype = DType::fp32;
  // When set, the string attribute of that name selects the dtype (its value is a dtype name).
  std::string dtype_attr;
  std::vector<std::string> shape;  // DimExpr strings
  // `shape` parsed once by the builders below (validation then costs no parsing per call); empty
  // = parsed per call. Code that edits `shape` after building must clear it.
  std::vector<DimExpr> shape_exprs;
  // An input fixed across calls (a model's weights, norm gains, constant matrices): Backend::prepare
  // takes these once for a Plan whose calls pass only the other tensors (kcs/backend.h).
  bool weight = false;
  Contract contract;               // out / inout only; for inout it applies to the touched rows
  std::string doc;
  QuantSource quant;  // out / inout quantized outputs only; empty tensor = none
};

// Builders that keep declarations short and readable.
TensorDecl input(std::string name, DType dtype, std::vector<std::string> shape, std::string doc);
TensorDecl output(std::string name, DType dtype, std::vector<std::string> shape, Contract contract, std::string doc);
TensorDecl inout(std::string name, DType dtype, std::vector<std::string> shape, Contract contract, std::string doc);
// The same tensor with its dtype chosen by a string attribute (whose values are dtype names).
TensorDecl dtype_from(TensorDecl t, std::string attr);
// The same tensor with the source of its quantizer inputs (QuantSource).
TensorDecl quant_from(TensorDecl t, QuantSource q);
// The same input marked as a weight (TensorDecl::weight).
TensorDecl as_weight(TensorDecl t);

struct AttrDecl {
  enum class Kind { integer, real, choice };
  std::string name;
  Kind kind = Kind::choice;
  std::string default_value;
  std::vector<std::string> choices;  // Kind::choice only
  std::string doc;
};

struct DimDecl {
  std::string name;
  std::string doc;
  int64_t min = 0;
};

// A tile knob as the kernel defines it. A backend receives the chosen value per call and must
// honour it. `bit_invariant` knobs (token/row tiling) must not change a single output bit;
// the others (K blocking) may change results within the contracts.
// Valid values: min <= v <= max and v a multiple of `multiple_of` (0 counts as one). Checked by
// the CLI and by Backend::run before any backend sees a value; max keeps every tile/index
// computation of the optimized code far from int64 overflow (values above a dimension act as
// "all" there, so a cap costs nothing).
constexpr int64_t kKnobMax = int64_t{1} << 24;
struct KnobDecl {
  std::string name;
  std::string doc;
  int64_t default_value = 0;
  bool bit_invariant = true;
  int64_t min = 0;
  int64_t max = kKnobMax;
  int64_t multiple_of = 1;

  // "0..16777216", "-1..16777216", "0..16777216, a multiple of 128".
  std::string range_str() const;
  // Ok, or "tile knob <name> = <v> is out of range: valid <range>" (no kernel prefix).
  Status check(int64_t v) const;
};

struct InvariantDecl {
  std::string name;
  std::string doc;
  std::function<CheckResult(const Problem&, const TensorMap& inputs, const TensorMap& outputs)> check;
};

struct KernelDecl {
  std::string id;     // "q8"
  std::string title;  // one line
  std::string spec;   // its definition, "docs/kernels/q8.md" (kcs explain prints it)
  std::vector<DimDecl> dims;
  std::vector<AttrDecl> attrs;
  std::vector<TensorDecl> tensors;
  std::vector<KnobDecl> knobs;
  std::vector<InvariantDecl> invariants;
  // Shape/attribute preconditions beyond the generic ones (e.g. rope dim even).
  std::function<Status(const Problem&)> check_problem;
  // Data preconditions (e.g. cache index in range, amax not subnormal). Run before any write.
  // They read only non-weight tensors: a Plan's call holds no weight.
  std::function<Status(const Problem&, const TensorMap&)> check_inputs;
  // For an inout tensor: 1 per row (all but the last dim) that the call must write.
  std::function<std::vector<uint8_t>(const Problem&, const TensorMap&, const std::string&)> touched_rows;
  // For an out tensor whose contract covers only part of it (spec §10.5 "valid region only"): one
  // byte per logical element, 0 outside the region (an invariant must check those). Empty = all.
  std::function<std::vector<uint8_t>(const Problem&, const std::string&)> valid_elements;

  const TensorDecl* find_tensor(const std::string& name) const;
  const AttrDecl* find_attr(const std::string& name) const;
  const KnobDecl* find_knob(const std::string& name) const;
};

// Registry of every declared kernel, in a fixed order.
const std::vector<const KernelDecl*>& all_kernels();
const KernelDecl* find_kernel(const std::string& id);  // nullptr when unknown
const KernelDecl& kernel_or_throw(const std::string& id);

// Fill in attribute defaults, then check dims and attrs against the declaration.
Problem complete_problem(const KernelDecl& decl, Problem p);
Status validate_problem(const KernelDecl& decl, const Problem& p);
DType tensor_dtype(const TensorDecl& t, const Problem& p);
Shape tensor_shape(const TensorDecl& t, const Problem& p);
Tensor make_tensor(const KernelDecl& decl, const Problem& p, const std::string& name);
// Every tensor of the call present with the declared dtype and shape, then check_inputs.
Status validate_call(const KernelDecl& decl, const Problem& p, const TensorMap& tensors);
// Which tensors a call through a Plan passes: the weights only (to Backend::prepare, no
// check_inputs) or every tensor but the weights (to Plan::run).
enum class TensorSet { all, weights, non_weights };
Status validate_tensors(const KernelDecl& decl, const Problem& p, const TensorMap& tensors, TensorSet set);

}  // namespace kcs
