#include "conformance/canaries/faults.h"

#include <cmath>
#include <cstring>
#include <limits>

#include "conformance/compare/compare.h"
#include "kcs/formats.h"

namespace kcs::canary {

namespace {

// Byte range holding logical element i (a whole byte for an E2M1 nibble).
std::pair<size_t, size_t> element_bytes(const Tensor& t, int64_t i) {
  switch (t.dtype()) {
    case DType::e2m1x2: return {static_cast<size_t>(i / 2), 1};
    case DType::ue4m3x4: return {static_cast<size_t>(i), 1};
    default: return {static_cast<size_t>(i) * dtype_size(t.dtype()), dtype_size(t.dtype())};
  }
}

template <class U>
void step_float_bits(void* p, int64_t n, U inf_bits) {
  U u;
  std::memcpy(&u, p, sizeof u);
  const U sign = static_cast<U>(U{1} << (sizeof(U) * 8 - 1));
  U mag = static_cast<U>(u & ~sign);
  const U un = static_cast<U>(n);
  mag = mag + un < inf_bits ? static_cast<U>(mag + un) : static_cast<U>(mag - un);
  u = static_cast<U>((u & sign) | mag);
  std::memcpy(p, &u, sizeof u);
}

template <class T>
void step_int(void* p, int64_t n) {
  T v;
  std::memcpy(&v, p, sizeof v);
  const long double w = static_cast<long double>(v) + static_cast<long double>(n);
  v = w <= static_cast<long double>(std::numeric_limits<T>::max()) ? static_cast<T>(v + n) : static_cast<T>(v - n);
  std::memcpy(p, &v, sizeof v);
}

}  // namespace

void step_units(Tensor& t, int64_t i, int64_t n) {
  uint8_t* base = static_cast<uint8_t*>(t.raw());
  void* p = base + element_bytes(t, i).first;
  switch (t.dtype()) {
    case DType::bf16: step_float_bits<uint16_t>(p, n, 0x7F80); break;
    case DType::fp16: step_float_bits<uint16_t>(p, n, 0x7C00); break;
    case DType::fp32: step_float_bits<uint32_t>(p, n, 0x7F800000u); break;
    case DType::fp64: step_float_bits<uint64_t>(p, n, 0x7FF0000000000000ull); break;
    case DType::i8: step_int<int8_t>(p, n); break;
    case DType::u8: step_int<uint8_t>(p, n); break;
    case DType::i32: step_int<int32_t>(p, n); break;
    case DType::i64: step_int<int64_t>(p, n); break;
    case DType::e2m1x2: {
      uint8_t& b = *static_cast<uint8_t*>(p);
      const int shift = (i % 2) ? 4 : 0;
      const int code = (b >> shift) & 0xF, mag = code & 7;
      const int m = mag + n <= 7 ? static_cast<int>(mag + n) : static_cast<int>(mag - n);
      b = static_cast<uint8_t>((b & ~(0xF << shift)) | (((code & 8) | (m & 7)) << shift));
      break;
    }
    case DType::ue4m3x4: {
      uint8_t& b = *static_cast<uint8_t*>(p);
      b = b + n <= 0x7E ? static_cast<uint8_t>(b + n) : static_cast<uint8_t>(b - n);
      break;
    }
  }
}

void set_nan(Tensor& t, int64_t i) {
  uint8_t* p = static_cast<uint8_t*>(t.raw()) + element_bytes(t, i).first;
  switch (t.dtype()) {
    case DType::bf16: { const uint16_t v = 0x7FC0; std::memcpy(p, &v, 2); break; }
    case DType::fp16: { const uint16_t v = 0x7E00; std::memcpy(p, &v, 2); break; }
    case DType::fp32: { const float v = std::numeric_limits<float>::quiet_NaN(); std::memcpy(p, &v, 4); break; }
    case DType::fp64: { const double v = std::numeric_limits<double>::quiet_NaN(); std::memcpy(p, &v, 8); break; }
    default: throw Error(std::string("set_nan: ") + dtype_name(t.dtype()) + " has no NaN");
  }
}

int64_t find_element(const Tensor& t, const std::function<bool(int64_t, double)>& pred) {
  const int64_t n = shape_numel(logical_shape(t));
  for (int64_t i = 0; i < n; ++i)
    if (pred(i, element_value(t, i))) return i;
  return -1;
}

int64_t visible_element(const FaultCall& fc, const std::string& name, int64_t n) {
  const KernelDecl& decl = *fc.inv.decl;
  const TensorDecl* td = decl.find_tensor(name);
  if (!td) throw Error("visible_element: " + decl.id + " has no tensor '" + name + "'");
  const Bundle& b = fc.bundle;
  const Tensor& e = td->role == Role::inout ? b.inout_after.at(name) : b.outputs.at(name);
  const int64_t numel = shape_numel(logical_shape(e));
  int64_t best = -1;
  double best_score = 0;
  if (td->contract.kind == Contract::Kind::ulp_or_budget) {
    const Tensor* pre = b.prerounding.count(name) ? &b.prerounding.at(name) : nullptr;
    const Tensor* bud = b.budget.count(name) ? &b.budget.at(name) : nullptr;
    const double k = td->contract.k_dim.empty() ? 1.0 : static_cast<double>(b.problem.dim(td->contract.k_dim));
    const double bscale = td->contract.budget_c * k * 0x1.0p-24;
    Tensor probe = e;
    for (int64_t i = 0; i < numel; ++i) {
      const double v0 = element_value(e, i);
      if (!std::isfinite(v0) || v0 == 0) continue;
      const auto [off, len] = element_bytes(e, i);
      step_units(probe, i, n);
      const double v = element_value(probe, i);
      std::memcpy(static_cast<uint8_t*>(probe.raw()) + off, static_cast<const uint8_t*>(e.raw()) + off, len);
      const double p = pre ? element_value(*pre, i) : v0;
      const double tol = 0.5 * format_ulp(e.dtype(), p) + (bud ? bscale * bud->data<double>()[i] : 0.0);
      const double score = tol > 0 ? std::fabs(v - p) / tol : INFINITY;
      if (std::isfinite(v) && score > 1 && score > best_score) {
        best = i;
        best_score = score;
      }
    }
    return best;
  }
  for (int64_t i = 0; i < numel; ++i) {
    const double v = std::fabs(element_value(e, i));
    if (std::isfinite(v) && v > best_score) {
      best = i;
      best_score = v;
    }
  }
  return best;
}

Canary units_off(const std::string& output, int64_t n, const std::string& case_glob, const std::string& what) {
  Canary c;
  c.name = output + "_" + std::to_string(n) + (n == 1 ? "_unit_off" : "_units_off");
  c.fault = what;
  c.case_glob = case_glob;
  c.caught_by = {output};
  c.inject = [output, n](const FaultCall& fc) {
    Status s = fc.run_reference();
    if (!s) return s;
    const int64_t i = visible_element(fc, output, n);
    if (i < 0) return Status::Fail("canary: no element of " + output + " where " + std::to_string(n) + " units are visible");
    step_units(fc.out(output), i, n);
    return s;
  };
  return c;
}

Canary one_beyond_hard(const std::string& output, const std::string& case_glob) {
  Canary c;
  c.name = output + "_one_beyond_hard";
  c.fault = "one element 4x its reference value (within the ratio part's one free element, beyond the hard bound)";
  c.case_glob = case_glob;
  c.caught_by = {output};
  c.inject = [output](const FaultCall& fc) {
    Status s = fc.run_reference();
    if (!s) return s;
    Tensor& t = fc.out(output);
    const auto mask = fc.bundle.touched.count(output) ? fc.bundle.touched.at(output) : std::vector<uint8_t>();
    int64_t best = -1;
    double best_v = 0;
    for (int64_t i = 0; i < t.numel(); ++i) {
      if (!mask.empty() && !mask[static_cast<size_t>(i / t.row_len())]) continue;
      const double v = std::fabs(element_value(t, i));
      if (std::isfinite(v) && v < 1e30 && v > best_v) {
        best = i;
        best_v = v;
      }
    }
    if (best < 0) return Status::Fail("canary: no finite non-zero element of " + output);
    if (t.dtype() == DType::fp32) {
      t.data<float>()[best] *= 4.0f;
    } else if (t.dtype() == DType::bf16) {
      uint16_t& b = t.data<uint16_t>()[best];
      b = bf16_from_float(bf16_to_float(b) * 4.0f);
    } else {
      return Status::Fail("canary: one_beyond_hard takes fp32 or bf16 outputs");
    }
    return s;
  };
  return c;
}

Canary swapped_nibble(const std::string& case_glob) {
  Canary c;
  c.name = "swapped_nibble";
  c.fault = "one swapped FP4 nibble pair (odd element in the low nibble)";
  c.case_glob = case_glob;
  c.caught_by = {"x_fp4", "invariant:codes_match_own_scales"};
  c.inject = [](const FaultCall& fc) {
    Status s = fc.run_reference();
    if (!s) return s;
    Tensor& q = fc.out("x_fp4");
    uint8_t* b = static_cast<uint8_t*>(q.raw());
    for (size_t k = 0; k < q.nbytes(); ++k)
      if ((b[k] & 0xF) != (b[k] >> 4)) {
        b[k] = static_cast<uint8_t>((b[k] << 4) | (b[k] >> 4));
        return s;
      }
    return Status::Fail("canary: no byte with two different nibbles");
  };
  return c;
}

Canary nan_in(const std::string& output, const std::string& case_glob) {
  Canary c;
  c.name = output + "_nan";
  c.fault = "NaN in one element of " + output;
  c.case_glob = case_glob;
  c.caught_by = {output};
  c.inject = [output](const FaultCall& fc) {
    Status s = fc.run_reference();
    if (!s) return s;
    const Tensor& o = fc.out(output);
    const int64_t i = find_element(o, [](int64_t, double v) { return std::isfinite(v); });
    if (i < 0) return Status::Fail("canary: " + output + " has no finite element");
    set_nan(fc.out(output), i);
    return s;
  };
  return c;
}

Canary codes_off_beyond_ratio(const std::string& output, const std::string& case_glob) {
  Canary c;
  c.name = output + "_off_by_1_beyond_ratio";
  c.fault = "codes off by 1 in more elements than the ratio allows";
  c.case_glob = case_glob;
  c.caught_by = {output};
  c.inject = [output](const FaultCall& fc) {
    Status s = fc.run_reference();
    if (!s) return s;
    const TensorDecl* td = fc.inv.decl->find_tensor(output);
    Tensor& o = fc.out(output);
    const Shape ls = logical_shape(o);
    const int64_t numel = shape_numel(ls), row_len = ls.empty() ? 1 : ls.back();
    const int64_t rows = row_len ? numel / row_len : 0;
    const int64_t want = allowed_count(td->contract.max_ratio, numel) + 1;
    if (want > numel) return Status::Fail("canary: " + output + " has only " + std::to_string(numel) + " elements");
    // Element j of row r, rows first: (0,0), (1,0), ..., (rows-1,0), (0,1), ...
    for (int64_t k = 0; k < want; ++k) step_units(o, (k % rows) * row_len + k / rows, 1);
    return s;
  };
  return c;
}

}  // namespace kcs::canary
