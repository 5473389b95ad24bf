// The stand-alone gemm_i8 kernel's tensors bound once as GemmI8Args, for both backends.
#include "kcs/kernels/gemm_i8.h"

#include "kcs/backend.h"

namespace kcs {

GemmI8Args gemm_i8_args(const Invocation& inv) {
  GemmI8Args g;
  const Tensor& a = inv.in("a");
  g.m = inv.dim("m");
  g.k = inv.dim("k");
  g.n = inv.dim("n");
  g.a = a.data<int8_t>();
  g.lda = g.k;
  g.w = inv.in("w").data<int8_t>();
  g.ldw = g.n;
  g.s_row = inv.in("s_row").data<float>();
  g.s_col = inv.in("s_col").data<float>();
  g.acc = inv.out("acc").data<int32_t>();
  g.ldacc = g.n;
  Tensor& y = inv.out("y");
  g.y = y.raw();
  g.ldy = g.n;
  g.y_dtype = y.dtype();
  return g;
}

}  // namespace kcs
