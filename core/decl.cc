#include "kcs/decl.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
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

// Names are short: inline word compares beat a call to memcmp (and a byte loop). Two loads of
// 8 (or 4) bytes cover the tail by overlapping; a std::string's bytes are always readable.
[[gnu::always_inline]] static inline bool same_name(const std::string& a, const std::string& b) {
  const size_t n = a.size();
  if (n != b.size()) return false;
  const char* x = a.data();
  const char* y = b.data();
  auto eq = [&](size_t at, auto word) {
    decltype(word) u, v;
    std::memcpy(&u, x + at, sizeof u);
    std::memcpy(&v, y + at, sizeof v);
    return u == v;
  };
  if (n >= 8) {
    for (size_t k = 0; k + 8 <= n; k += 8)
      if (!eq(k, uint64_t{})) return false;
    return eq(n - 8, uint64_t{});
  }
  if (n >= 4) return eq(0, uint32_t{}) && eq(n - 4, uint32_t{});
  for (size_t k = 0; k < n; ++k)
    if (x[k] != y[k]) return false;
  return true;
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
  // from_chars is correctly rounded as strtod is, at a tenth of its cost; what it leaves (hex,
  // '+', blanks, inf/nan, zero, subnormals, overflow) goes to strtod, so the accepted set is strtod's.
  double fast = 0;
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), fast);
  if (ec == std::errc() && ptr == s.data() + s.size() && std::isnormal(fast)) {
    *out = fast;
    return true;
  }
  errno = 0;
  char* end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  if (errno != 0 || end != s.c_str() + s.size()) return false;
  *out = v;
  return true;
}

static bool parse_i64(const std::string& s, int64_t* out) {
  if (s.empty()) return false;
  int64_t fast = 0;  // as in parse_f64: a fast path, strtoll for the rest ('+', blanks, range)
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), fast);
  if (ec == std::errc() && ptr == s.data() + s.size()) {
    *out = fast;
    return true;
  }
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

DimReader::DimReader(std::vector<std::string> names) : names_(std::move(names)), order_(names_.size()) {
  for (size_t k = 0; k < order_.size(); ++k) order_[k] = k;
  std::sort(order_.begin(), order_.end(), [&](size_t a, size_t b) { return names_[a] < names_[b]; });
}

void DimReader::read(const Problem& p, int64_t* out) const {
  if (p.dims.size() == names_.size()) {
    auto it = p.dims.begin();
    size_t j = 0;
    for (; j < order_.size() && same_name(it->first, names_[order_[j]]); ++j, ++it) out[order_[j]] = it->second;
    if (j == order_.size()) return;
  }
  for (size_t k = 0; k < names_.size(); ++k) out[k] = p.dim(names_[k]);
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
  if (div == 1) return v * mul;  // no division on the common path: idiv dominated validation
  if (v % div != 0)
    throw Error("dimension " + dim + " = " + std::to_string(v) + " is not a multiple of " + std::to_string(div));
  return v / div * mul;
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
  if (div == 1) return v * mul;
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
  DimValues(const KernelDecl& decl, const Dims& dims);
};

// A declaration list's (dims, attrs, tensors) indices sorted by name, cached per thread and list:
// a call walks its std::map beside them once instead of searching the map once per name.
struct SortedOrder {
  static constexpr size_t kMax = 64;
  const void* list = nullptr;
  size_t n = 0;
  uint16_t idx[kMax];
};

template <class T>
const SortedOrder* sorted_order(const std::vector<T>& list, bool rebuild) {
  if (list.size() > SortedOrder::kMax) return nullptr;
  thread_local SortedOrder cache[16];
  SortedOrder& c = cache[(reinterpret_cast<uintptr_t>(&list) >> 4) % 16];
  if (rebuild || c.list != &list || c.n != list.size()) {
    c.list = &list;
    c.n = list.size();
    for (size_t k = 0; k < c.n; ++k) c.idx[k] = static_cast<uint16_t>(k);
    std::sort(c.idx, c.idx + c.n, [&](uint16_t a, uint16_t b) { return list[a].name < list[b].name; });
  }
  return &c;
}

// found[k] = the entry of m named list[k].name for every k that `want` selects (others: null),
// by one walk of m beside the list in name order. False when a selected name is missing or m
// holds another one (found is then partial): the caller takes its by-name path, which names the
// problem. The names are compared, so an order cached for an edited list only costs a rebuild.
template <class T, class Map, class Want>
bool walk_sorted(const std::vector<T>& list, const Map& m, Want want, const typename Map::value_type** found) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    const SortedOrder* o = sorted_order(list, attempt == 1);
    if (!o) return false;
    auto it = m.begin();
    bool ok = true;
    for (size_t j = 0; ok && j < o->n; ++j) {
      const size_t k = o->idx[j];
      found[k] = nullptr;
      if (!want(list[k])) continue;
      ok = it != m.end() && same_name(it->first, list[k].name);
      if (ok) found[k] = &*it++;
    }
    if (ok && it == m.end()) return true;
  }
  return false;
}

DimValues::DimValues(const KernelDecl& decl, const Dims& dims) {
  if (decl.dims.size() > kMax) return;
  const Dims::value_type* found[SortedOrder::kMax];
  if (walk_sorted(decl.dims, dims, [](const DimDecl&) { return true; }, found)) {
    for (size_t k = 0; k < decl.dims.size(); ++k) v[k] = found[k]->second;
    ok = true;
    return;
  }
  for (size_t k = 0; k < decl.dims.size(); ++k) {
    auto it = dims.find(decl.dims[k].name);
    if (it == dims.end()) return;
    v[k] = it->second;
  }
  ok = true;
}

// The i-th entry of t's shape: parsed once by the builders (else parsed now), evaluated on the
// dims by position where `dv` holds them.
int64_t shape_entry(const KernelDecl& decl, const TensorDecl& t, size_t i, const Dims& dims, const DimValues& dv) {
  if (t.shape_exprs.size() != t.shape.size()) return DimExpr::parse(t.shape[i]).eval(dims);
  return dv.ok ? t.shape_exprs[i].eval(decl, dv.v) : t.shape_exprs[i].eval(dims);
}

// Messages are built only on failure: the success path of a call allocates nothing here.
std::string where(const KernelDecl& decl) { return "kernel " + decl.id + ": "; }

}  // namespace

namespace {

// Every declared dimension present (by position into dv) and not below its minimum, no other.
Status check_dims(const KernelDecl& decl, const Problem& p, DimValues& dv) {
  const size_t n = decl.dims.size();
  dv.ok = n <= DimValues::kMax;
  const Dims::value_type* found[SortedOrder::kMax];
  if (dv.ok && walk_sorted(decl.dims, p.dims, [](const DimDecl&) { return true; }, found)) {
    for (size_t k = 0; k < n; ++k) {
      dv.v[k] = found[k]->second;
      if (dv.v[k] < decl.dims[k].min)
        return Status::Fail(where(decl) + "dimension " + decl.dims[k].name + " = " + std::to_string(dv.v[k]) +
                            " is below its minimum " + std::to_string(decl.dims[k].min));
    }
    return Status::Ok();
  }
  for (size_t k = 0; k < n; ++k) {
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
  return Status::Ok();
}

Status validate_problem_dv(const KernelDecl& decl, const Problem& p, DimValues& dv) {
  if (p.kernel != decl.id) return Status::Fail(where(decl) + "problem is for kernel '" + p.kernel + "'");
  if (Status s = check_dims(decl, p, dv); !s) return s;
  // Attributes in the problem's (name) order, as the walk below finds them.
  const Attrs::value_type* found[SortedOrder::kMax];
  const bool walked = walk_sorted(decl.attrs, p.attrs, [](const AttrDecl&) { return true; }, found);
  const SortedOrder* order = walked ? sorted_order(decl.attrs, false) : nullptr;
  size_t j = 0;
  for (const auto& [name, v] : p.attrs) {
    const AttrDecl* a = walked ? &decl.attrs[order->idx[j++]] : decl.find_attr(name);
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
  if (!walked && p.attrs.size() != decl.attrs.size())
    for (const auto& a : decl.attrs)
      if (!p.attrs.count(a.name)) return Status::Fail(where(decl) + "attribute '" + a.name + "' is missing");
  // Divisibility ("K/2" of an odd K) is a problem error; the other entries cannot fail on a
  // declaration whose names are its dims, and the tensor checks evaluate them anyway.
  try {
    for (const auto& t : decl.tensors)
      for (size_t i = 0; i < t.shape.size(); ++i)
        if (t.shape_exprs.size() != t.shape.size() || t.shape_exprs[i].div != 1 || !dv.ok)
          (void)shape_entry(decl, t, i, p.dims, dv);
  } catch (const Error& e) {
    return Status::Fail(where(decl) + e.what());
  }
  if (decl.check_problem) {
    Status s = decl.check_problem(p);
    if (!s) return Status::Fail(where(decl) + s.message);
  }
  return Status::Ok();
}

Status validate_tensors_dv(const KernelDecl& decl, const Problem& p, const TensorMap& tensors, TensorSet set,
                           const DimValues& dv);

}  // namespace

Status validate_problem(const KernelDecl& decl, const Problem& p) {
  DimValues dv;
  return validate_problem_dv(decl, p, dv);
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
  DimValues dv;
  Status s = validate_problem_dv(decl, p, dv);
  if (!s) return s;
  return validate_tensors_dv(decl, p, tensors, TensorSet::all, dv);
}

Status validate_tensors(const KernelDecl& decl, const Problem& p, const TensorMap& tensors, TensorSet set) {
  return validate_tensors_dv(decl, p, tensors, set, DimValues(decl, p.dims));
}

namespace {

Status validate_tensors_dv(const KernelDecl& decl, const Problem& p, const TensorMap& tensors, TensorSet set,
                           const DimValues& dv) {
  auto wanted = [set](const TensorDecl& t) {
    return set == TensorSet::all || (set == TensorSet::weights) == t.weight;
  };
  const TensorMap::value_type* found[SortedOrder::kMax];
  const bool walked = walk_sorted(decl.tensors, tensors, wanted, found);
  // The dtype attribute's last value (dtype_from tensors usually share one attribute).
  const std::string* dt_attr = nullptr;
  DType dt_value{};
  size_t n = 0;
  for (const auto& t : decl.tensors) {
    if (!wanted(t)) continue;
    ++n;
    const Tensor* have_t = nullptr;
    if (walked) {
      have_t = &found[&t - decl.tensors.data()]->second;
    } else {
      auto it = tensors.find(t.name);
      if (it == tensors.end()) return Status::Fail(where(decl) + "tensor '" + t.name + "' is missing");
      have_t = &it->second;
    }
    DType want = t.dtype;
    if (!t.dtype_attr.empty()) {
      if (!dt_attr || !same_name(*dt_attr, t.dtype_attr)) {
        dt_value = tensor_dtype(t, p);
        dt_attr = &t.dtype_attr;
      }
      want = dt_value;
    }
    if (have_t->dtype() != want)
      return Status::Fail(where(decl) + "tensor '" + t.name + "' has dtype " + dtype_name(have_t->dtype()) +
                          ", expected " + dtype_name(want));
    const Shape& have = have_t->shape();
    bool same = have.size() == t.shape.size();
    try {  // an entry naming no dimension of the declaration (validate_problem skips most entries)
      for (size_t i = 0; same && i < have.size(); ++i) same = have[i] == shape_entry(decl, t, i, p.dims, dv);
    } catch (const Error& e) {
      return Status::Fail(where(decl) + e.what());
    }
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

}  // namespace

}  // namespace kcs
