// Reference Hadamard (spec §1.5): the reference BF16 GEMM with the matrix as W, rounded once to
// BF16; plus the Sylvester matrix builders.
#include "kcs/kernels/hadamard.h"

#include <cmath>
#include <string>

#include "kcs/backend.h"
#include "kcs/formats.h"
#include "kcs/kernels/gemm_bf16.h"
#include "reference/cast_points.h"
#include "reference/kernels.h"

namespace kcs {

namespace {

bool is_pow2(int64_t d) { return d >= 1 && (d & (d - 1)) == 0; }

void require_pow2(int64_t d) {
  if (!is_pow2(d)) throw Error("Sylvester Hadamard matrix: d = " + std::to_string(d) + " is not a power of two");
}

}  // namespace

std::vector<int8_t> sylvester_hadamard(int64_t d) {
  require_pow2(d);
  std::vector<int8_t> h(static_cast<size_t>(d * d));
  for (int64_t i = 0; i < d; ++i)
    for (int64_t j = 0; j < d; ++j)
      h[static_cast<size_t>(i * d + j)] = (__builtin_popcountll(static_cast<uint64_t>(i & j)) & 1) ? -1 : 1;
  return h;
}

std::vector<double> sylvester_hadamard_normalized(int64_t d) {
  const std::vector<int8_t> h = sylvester_hadamard(d);
  // 1/√d = √(1/d): 1/d is exact for a power of two, so this is one correctly rounded sqrt.
  const double s = std::sqrt(1.0 / static_cast<double>(d));
  std::vector<double> out(h.size());
  for (size_t i = 0; i < h.size(); ++i) out[i] = h[i] * s;
  return out;
}

std::vector<uint16_t> sylvester_hadamard_bf16(int64_t d) {
  const std::vector<double> n = sylvester_hadamard_normalized(d);
  std::vector<uint16_t> out(n.size());
  for (size_t i = 0; i < n.size(); ++i) out[i] = bf16_from_double(n[i]);
  return out;
}

namespace ref {

Status hadamard(const Invocation& inv) {
  const Tensor& x = inv.in("x");
  const Tensor& h = inv.in("hadamard");
  Tensor& y = inv.out("y");
  const int64_t T = inv.dim("T"), D = inv.dim("D");
  Tensor yv(DType::fp64, y.shape()), av(DType::fp64, y.shape());
  GemmBf16RefArgs g;
  g.m = T;
  g.k = D;
  g.n = D;
  g.a = x.data<uint16_t>();
  g.lda = D;
  g.w = h.data<uint16_t>();
  g.ldw = D;
  gemm_bf16_reference(g, 0, T, yv.data<double>(), D, av.data<double>(), D);
  for (int64_t e = 0; e < T * D; ++e) y.data<uint16_t>()[e] = ref::bf16_at("hadamard.y_bf16", yv.data<double>()[e]);
  if (inv.extras) {
    inv.extras->prerounding["y"] = std::move(yv);
    inv.extras->budget["y"] = std::move(av);
  }
  return Status::Ok();
}

}  // namespace ref
}  // namespace kcs
