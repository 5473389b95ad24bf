// Reference Hadamard (spec §1.5): the reference BF16 GEMM with the matrix as W, rounded once to
// BF16. The Sylvester matrix builders are in tables/hadamard.h.
#include "kcs/backend.h"
#include "kcs/formats.h"
#include "kcs/kernels/gemm_bf16.h"
#include "reference/cast_points.h"
#include "reference/kernels.h"

namespace kcs {

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
