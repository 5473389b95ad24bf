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

Status validate_problem(const KernelDecl& decl, const Problem& p) {
  const std::string where = "kernel " + decl.id + ": ";
  if (p.kernel != decl.id) return Status::Fail(where + "problem is for kernel '" + p.kernel + "'");
  for (const auto& d : decl.dims) {
    auto it = p.dims.find(d.name);
    if (it == p.dims.end()) return Status::Fail(where + "dimension '" + d.name + "' is missing");
    if (it->second < d.min)
      return Status::Fail(where + "dimension " + d.name + " = " + std::to_string(it->second) + " is below its minimum " +
                          std::to_string(d.min));
  }
  for (const auto& [name, v] : p.dims) {
    bool known = false;
    for (const auto& d : decl.dims) known |= d.name == name;
    if (!known) return Status::Fail(where + "unknown dimension '" + name + "'");
  }
  for (const auto& [name, v] : p.attrs) {
    const AttrDecl* a = decl.find_attr(name);
    if (!a) return Status::Fail(where + "unknown attribute '" + name + "'");
    double f = 0;
    int64_t i = 0;
    switch (a->kind) {
      case AttrDecl::Kind::integer:
        if (!parse_i64(v, &i)) return Status::Fail(where + "attribute " + name + " = '" + v + "' is not an integer");
        break;
      case AttrDecl::Kind::real:
        if (!parse_f64(v, &f)) return Status::Fail(where + "attribute " + name + " = '" + v + "' is not a number");
        break;
      case AttrDecl::Kind::choice: {
        bool ok = false;
        std::string all;
        for (const auto& c : a->choices) {
          ok |= c == v;
          all += (all.empty() ? "" : "|") + c;
        }
        if (!ok) return Status::Fail(where + "attribute " + name + " = '" + v + "' is not one of " + all);
        break;
      }
    }
  }
  for (const auto& a : decl.attrs)
    if (!p.attrs.count(a.name)) return Status::Fail(where + "attribute '" + a.name + "' is missing");
  try {
    for (const auto& t : decl.tensors) (void)tensor_shape(t, p);
  } catch (const Error& e) {
    return Status::Fail(where + e.what());
  }
  if (decl.check_problem) {
    Status s = decl.check_problem(p);
    if (!s) return Status::Fail(where + s.message);
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
  Shape s;
  for (const auto& e : t.shape) s.push_back(DimExpr::parse(e).eval(p.dims));
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
  const std::string where = "kernel " + decl.id + ": ";
  for (const auto& t : decl.tensors) {
    auto it = tensors.find(t.name);
    if (it == tensors.end()) return Status::Fail(where + "tensor '" + t.name + "' is missing");
    DType want = tensor_dtype(t, p);
    if (it->second.dtype() != want)
      return Status::Fail(where + "tensor '" + t.name + "' has dtype " + dtype_name(it->second.dtype()) +
                          ", expected " + dtype_name(want));
    Shape shape = tensor_shape(t, p);
    if (it->second.shape() != shape)
      return Status::Fail(where + "tensor '" + t.name + "' has shape " + shape_str(it->second.shape()) +
                          ", expected " + shape_str(shape));
  }
  for (const auto& [name, tensor] : tensors)
    if (!decl.find_tensor(name)) return Status::Fail(where + "unexpected tensor '" + name + "'");
  if (decl.check_inputs) {
    Status c = decl.check_inputs(p, tensors);
    if (!c) return Status::Fail(where + c.message);
  }
  return Status::Ok();
}

}  // namespace kcs
