#include "kcs/decl.h"

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <sstream>

namespace kcs {

const char* role_name(Role r) {
  switch (r) {
    case Role::in: return "in";
    case Role::out: return "out";
    case Role::inout: return "inout";
  }
  return "?";
}

int64_t Problem::dim(const std::string& name) const {
  auto it = dims.find(name);
  if (it == dims.end()) throw Error("kernel " + kernel + ": dimension '" + name + "' is not set");
  return it->second;
}

const std::string& Problem::attr(const std::string& name) const {
  auto it = attrs.find(name);
  if (it == attrs.end()) throw Error("kernel " + kernel + ": attribute '" + name + "' is not set");
  return it->second;
}

static bool parse_f64(const std::string& s, double* out) {
  if (s.empty()) return false;
  errno = 0;
  char* end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  if (errno != 0 || end != s.c_str() + s.size()) return false;
  *out = v;
  return true;
}

static bool parse_i64(const std::string& s, int64_t* out) {
  if (s.empty()) return false;
  errno = 0;
  char* end = nullptr;
  long long v = std::strtoll(s.c_str(), &end, 10);
  if (errno != 0 || end != s.c_str() + s.size()) return false;
  *out = v;
  return true;
}

double Problem::attr_f64(const std::string& name) const {
  double v = 0;
  if (!parse_f64(attr(name), &v)) throw Error("attribute '" + name + "' = '" + attr(name) + "' is not a number");
  return v;
}

int64_t Problem::attr_i64(const std::string& name) const {
  int64_t v = 0;
  if (!parse_i64(attr(name), &v)) throw Error("attribute '" + name + "' = '" + attr(name) + "' is not an integer");
  return v;
}

DimExpr DimExpr::parse(const std::string& s) {
  DimExpr e;
  auto bad = [&]() { return Error("malformed shape entry '" + s + "' (expected name, name/N, name*N or N)"); };
  size_t op = s.find_first_of("/*");
  std::string head = s.substr(0, op);
  if (head.empty()) throw bad();
  int64_t num = 0;
  if (parse_i64(head, &num)) {
    if (op != std::string::npos || num < 0) throw bad();
    e.constant = num;
    return e;
  }
  for (char c : head)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) throw bad();
  e.dim = head;
  if (op != std::string::npos) {
    int64_t k = 0;
    if (!parse_i64(s.substr(op + 1), &k) || k <= 0) throw bad();
    (s[op] == '/' ? e.div : e.mul) = k;
  }
  return e;
}

int64_t DimExpr::eval(const Dims& dims) const {
  if (dim.empty()) return constant;
  auto it = dims.find(dim);
  if (it == dims.end()) throw Error("dimension '" + dim + "' is not set");
  int64_t v = it->second;
  if (v % div != 0)
    throw Error("dimension " + dim + " = " + std::to_string(v) + " is not a multiple of " + std::to_string(div));
  return v / div * mul;
}

// Short names: an inline loop beats a call to memcmp.
static bool same_name(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return false;
  for (size_t k = 0; k < a.size(); ++k)
    if (a[k] != b[k]) return false;
  return true;
}

int64_t DimExpr::eval(const KernelDecl& decl, const int64_t* values) const {
  if (dim.empty()) return constant;
  const size_t n = decl.dims.size();
  int32_t i = slot.load(std::memory_order_relaxed);
  if (i < 0 || static_cast<size_t>(i) >= n || !same_name(decl.dims[static_cast<size_t>(i)].name, dim)) {
    i = -1;
    for (size_t k = 0; k < n && i < 0; ++k)
      if (decl.dims[k].name == dim) i = static_cast<int32_t>(k);
    if (i < 0) throw Error("dimension '" + dim + "' is not set");
    slot.store(i, std::memory_order_relaxed);
  }
  const int64_t v = values[i];
  if (v % div != 0)
    throw Error("dimension " + dim + " = " + std::to_string(v) + " is not a multiple of " + std::to_string(div));
  return v / div * mul;
}

std::string DimExpr::str() const {
  if (dim.empty()) return std::to_string(constant);
  if (div != 1) return dim + "/" + std::to_string(div);
  if (mul != 1) return dim + "*" + std::to_string(mul);
  return dim;
}

static TensorDecl make_decl(std::string name, Role role, DType dtype, std::vector<std::string> shape,
                            Contract contract, std::string doc) {
  TensorDecl t;
  t.name = std::move(name);
  t.role = role;
  t.dtype = dtype;
  t.shape = std::move(shape);
  t.contract = std::move(contract);
  t.doc = std::move(doc);
  // A malformed entry stays unparsed here: validation reports it per call, naming the entry.
  try {
    for (const auto& e : t.shape) t.shape_exprs.push_back(DimExpr::parse(e));
  } catch (const Error&) {
    t.shape_exprs.clear();
  }
  return t;
}

TensorDecl input(std::string name, DType dtype, std::vector<std::string> shape, std::string doc) {
  return make_decl(std::move(name), Role::in, dtype, std::move(shape), Contract(), std::move(doc));
}
TensorDecl output(std::string name, DType dtype, std::vector<std::string> shape, Contract contract, std::string doc) {
  return make_decl(std::move(name), Role::out, dtype, std::move(shape), std::move(contract), std::move(doc));
}
TensorDecl inout(std::string name, DType dtype, std::vector<std::string> shape, Contract contract, std::string doc) {
  return make_decl(std::move(name), Role::inout, dtype, std::move(shape), std::move(contract), std::move(doc));
}
TensorDecl dtype_from(TensorDecl t, std::string attr) {
  t.dtype_attr = std::move(attr);
  return t;
}

TensorDecl as_weight(TensorDecl t) {
  t.weight = true;
  return t;
}

TensorDecl quant_from(TensorDecl t, QuantSource q) {
  t.quant = std::move(q);
  return t;
}

const TensorDecl* KernelDecl::find_tensor(const std::string& name) const {
  for (const auto& t : tensors)
    if (t.name == name) return &t;
  return nullptr;
}
const AttrDecl* KernelDecl::find_attr(const std::string& name) const {
  for (const auto& a : attrs)
    if (a.name == name) return &a;
  return nullptr;
}
const KnobDecl* KernelDecl::find_knob(const std::string& name) const {
  for (const auto& k : knobs)
    if (k.name == name) return &k;
  return nullptr;
}

std::string KnobDecl::range_str() const {
  std::string r = std::to_string(min) + ".." + std::to_string(max);
  if (multiple_of > 1) r += ", a multiple of " + std::to_string(multiple_of);
  return r;
}

Status KnobDecl::check(int64_t v) const {
  if (v < min || v > max || (multiple_of > 1 && v % multiple_of != 0))
    return Status::Fail("tile knob " + name + " = " + std::to_string(v) + " is out of range: valid " + range_str());
  return Status::Ok();
}

Problem complete_problem(const KernelDecl& decl, Problem p) {
  p.kernel = decl.id;
  for (const auto& a : decl.attrs)
    if (!p.attrs.count(a.name)) p.attrs[a.name] = a.default_value;
  return p;
}

namespace {

// The problem's values of decl.dims by position (kMax at most), or none: shapes then evaluate by
// name.
struct DimValues {
  static constexpr size_t kMax = 32;
  int64_t v[kMax];
  bool ok = false;
  DimValues() = default;
  DimValues(const KernelDecl& decl, const Dims& dims) {
    if (decl.dims.size() > kMax) return;
    for (size_t k = 0; k < decl.dims.size(); ++k) {
      auto it = dims.find(decl.dims[k].name);
      if (it == dims.end()) return;
      v[k] = it->second;
    }
    ok = true;
  }
};

// The i-th entry of t's shape: parsed once by the builders (else parsed now), evaluated on the
// dims by position where `dv` holds them.
int64_t shape_entry(const KernelDecl& decl, const TensorDecl& t, size_t i, const Dims& dims, const DimValues& dv) {
  if (t.shape_exprs.size() != t.shape.size()) return DimExpr::parse(t.shape[i]).eval(dims);
  return dv.ok ? t.shape_exprs[i].eval(decl, dv.v) : t.shape_exprs[i].eval(dims);
}

// Messages are built only on failure: the success path of a call allocates nothing here.
std::string where(const KernelDecl& decl) { return "kernel " + decl.id + ": "; }

}  // namespace

Status validate_problem(const KernelDecl& decl, const Problem& p) {
  if (p.kernel != decl.id) return Status::Fail(where(decl) + "problem is for kernel '" + p.kernel + "'");
  DimValues dv;
  dv.ok = decl.dims.size() <= DimValues::kMax;
  for (size_t k = 0; k < decl.dims.size(); ++k) {
    const DimDecl& d = decl.dims[k];
    auto it = p.dims.find(d.name);
    if (it == p.dims.end()) return Status::Fail(where(decl) + "dimension '" + d.name + "' is missing");
    if (it->second < d.min)
      return Status::Fail(where(decl) + "dimension " + d.name + " = " + std::to_string(it->second) +
                          " is below its minimum " + std::to_string(d.min));
    if (dv.ok) dv.v[k] = it->second;
  }
  // Every declared dimension is present (above), so equal counts leave no room for an unknown one.
  if (p.dims.size() != decl.dims.size())
    for (const auto& [name, v] : p.dims) {
      bool known = false;
      for (const auto& d : decl.dims) known |= d.name == name;
      if (!known) return Status::Fail(where(decl) + "unknown dimension '" + name + "'");
    }
  for (const auto& [name, v] : p.attrs) {
    const AttrDecl* a = decl.find_attr(name);
    if (!a) return Status::Fail(where(decl) + "unknown attribute '" + name + "'");
    double f = 0;
    int64_t i = 0;
    switch (a->kind) {
      case AttrDecl::Kind::integer:
        if (!parse_i64(v, &i)) return Status::Fail(where(decl) + "attribute " + name + " = '" + v + "' is not an integer");
        break;
      case AttrDecl::Kind::real:
        if (!parse_f64(v, &f)) return Status::Fail(where(decl) + "attribute " + name + " = '" + v + "' is not a number");
        break;
      case AttrDecl::Kind::choice: {
        bool ok = false;
        for (const auto& c : a->choices) ok |= c == v;
        if (!ok) {
          std::string all;
          for (const auto& c : a->choices) all += (all.empty() ? "" : "|") + c;
          return Status::Fail(where(decl) + "attribute " + name + " = '" + v + "' is not one of " + all);
        }
        break;
      }
    }
  }
  if (p.attrs.size() != decl.attrs.size())
    for (const auto& a : decl.attrs)
      if (!p.attrs.count(a.name)) return Status::Fail(where(decl) + "attribute '" + a.name + "' is missing");
  try {
    for (const auto& t : decl.tensors)
      for (size_t i = 0; i < t.shape.size(); ++i) (void)shape_entry(decl, t, i, p.dims, dv);
  } catch (const Error& e) {
    return Status::Fail(where(decl) + e.what());
  }
  if (decl.check_problem) {
    Status s = decl.check_problem(p);
    if (!s) return Status::Fail(where(decl) + s.message);
  }
  return Status::Ok();
}

DType tensor_dtype(const TensorDecl& t, const Problem& p) {
  if (t.dtype_attr.empty()) return t.dtype;
  DType d{};
  const std::string& v = p.attr(t.dtype_attr);
  if (!parse_dtype(v, &d)) throw Error("attribute " + t.dtype_attr + " = '" + v + "' is not a dtype name");
  return d;
}

Shape tensor_shape(const TensorDecl& t, const Problem& p) {
  Shape s(t.shape.size());
  for (size_t i = 0; i < t.shape.size(); ++i)
    s[i] = t.shape_exprs.size() == t.shape.size() ? t.shape_exprs[i].eval(p.dims) : DimExpr::parse(t.shape[i]).eval(p.dims);
  return s;
}

Tensor make_tensor(const KernelDecl& decl, const Problem& p, const std::string& name) {
  const TensorDecl* t = decl.find_tensor(name);
  if (!t) throw Error("kernel " + decl.id + " has no tensor '" + name + "'");
  return Tensor(tensor_dtype(*t, p), tensor_shape(*t, p));
}

Status validate_call(const KernelDecl& decl, const Problem& p, const TensorMap& tensors) {
  Status s = validate_problem(decl, p);
  if (!s) return s;
  return validate_tensors(decl, p, tensors, TensorSet::all);
}

Status validate_tensors(const KernelDecl& decl, const Problem& p, const TensorMap& tensors, TensorSet set) {
  auto wanted = [set](const TensorDecl& t) {
    return set == TensorSet::all || (set == TensorSet::weights) == t.weight;
  };
  const DimValues dv(decl, p.dims);
  size_t n = 0;
  for (const auto& t : decl.tensors) {
    if (!wanted(t)) continue;
    ++n;
    auto it = tensors.find(t.name);
    if (it == tensors.end()) return Status::Fail(where(decl) + "tensor '" + t.name + "' is missing");
    DType want = tensor_dtype(t, p);
    if (it->second.dtype() != want)
      return Status::Fail(where(decl) + "tensor '" + t.name + "' has dtype " + dtype_name(it->second.dtype()) +
                          ", expected " + dtype_name(want));
    const Shape& have = it->second.shape();
    bool same = have.size() == t.shape.size();
    for (size_t i = 0; same && i < have.size(); ++i) same = have[i] == shape_entry(decl, t, i, p.dims, dv);
    if (!same)
      return Status::Fail(where(decl) + "tensor '" + t.name + "' has shape " + shape_str(have) + ", expected " +
                          shape_str(tensor_shape(t, p)));
  }
  // Every wanted tensor is present (above), so equal counts leave no room for another one.
  if (tensors.size() != n)
    for (const auto& [name, tensor] : tensors) {
      const TensorDecl* t = decl.find_tensor(name);
      if (!t) return Status::Fail(where(decl) + "unexpected tensor '" + name + "'");
      if (!wanted(*t))
        return Status::Fail(where(decl) + "tensor '" + name + "' " +
                            (t->weight ? "is a weight: it was given to prepare(), a plan's call passes the others"
                                       : "is not a weight: prepare() takes only the weights"));
    }
  if (set != TensorSet::weights && decl.check_inputs) {
    Status c = decl.check_inputs(p, tensors);
    if (!c) return Status::Fail(where(decl) + c.message);
  }
  return Status::Ok();
}

}  // namespace kcs
