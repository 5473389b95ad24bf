// Hadamard adapter (spec §1.5): y = bf16(x · M) with the dense matrix M as an opaque input, run
// on the BF16 GEMM engine (optimized/gemm_bf16.h) with the matrix as the packed weights. Same
// knobs and same bits as gemm_bf16 with B = 1, K = N = D and out_dtype bfloat16.
#include "optimized/gemm_bf16.h"
#include "optimized/kernels.h"

namespace kcs::opt {

Status hadamard(const Invocation& inv, Isa isa) {
  const Tensor& x = inv.in("x");
  const Tensor& h = inv.in("hadamard");
  Tensor& y = inv.out("y");
  const int64_t T = inv.dim("T"), D = inv.dim("D");
  if (T == 0) return Status::Ok();
  thread_local PackedBf16Weights packed;  // memory kept between calls, as in gemm_bf16
  pack_bf16_weights_into(packed, h.data<uint16_t>(), 1, D, D, D, 0, inv.threads);
  GemmBf16Args g;
  g.m = T;
  g.k = D;
  g.n = D;
  g.a = x.data<uint16_t>();
  g.lda = D;
  g.y = y.raw();
  g.ldy = D;
  g.y_dtype = DType::bf16;
  g.k_block = inv.knob("k_block");
  GemmBf16Tiling t = gemm_bf16_auto_tiling(1, T, D, inv.threads);
  if (const int64_t v = inv.knob("m_tile"); v >= 0) t.m_tile = v;
  if (const int64_t v = inv.knob("n_tile"); v >= 0) t.n_tile = v;
  gemm_bf16_run(isa, g, packed.view(), t, inv.threads);
  return Status::Ok();
}

}  // namespace kcs::opt
