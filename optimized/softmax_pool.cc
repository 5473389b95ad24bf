// softmax_pool adapter: work items (block, column strip of cols_per_cta columns) spread over
// threads. Each column's reduction runs in one item in a fixed order, so neither the strip
// width nor the thread count can change a bit.
#include "optimized/softmax_pool.h"

#include <algorithm>
#include <string>
#include <vector>

#include "optimized/kernels.h"
#include "optimized/variants.h"

namespace kcs::opt {

void softmax_pool_run(const float* logits, const void* values, bool v_bf16, int64_t n_blocks, int64_t M, int64_t C,
                      float* out, Isa isa, int threads, int64_t cols_per_cta) {
  const int64_t cpc = cols_per_cta <= 0 || cols_per_cta > C ? C : cols_per_cta;
  if (n_blocks <= 0 || C <= 0) return;
  const auto* vbase = static_cast<const uint8_t*>(values);
  const size_t vsize = v_bf16 ? 2 : 4;
  const int64_t strips = (C + cpc - 1) / cpc;
  const int64_t items = n_blocks * strips;
  auto fn = variant(kSoftmaxPoolVariants, isa).cols;
#pragma omp parallel num_threads(threads)
  {
    std::vector<const float*> zr(static_cast<size_t>(M));
    std::vector<const void*> vr(static_cast<size_t>(M));
#pragma omp for schedule(static)
    for (int64_t it = 0; it < items; ++it) {
      const int64_t b = it / strips, s = it % strips;
      for (int64_t q = 0; q < M; ++q) {
        const int64_t row = (b * M + q) * C;
        zr[static_cast<size_t>(q)] = logits + row;
        vr[static_cast<size_t>(q)] = vbase + static_cast<size_t>(row) * vsize;
      }
      PoolWindow w;
      w.M = M;
      w.z = zr.data();
      w.v = vr.data();
      w.v_bf16 = v_bf16;
      fn(w, s * cpc, std::min(C, (s + 1) * cpc), out + b * C);
    }
  }
}

Status softmax_pool(const Invocation& inv, Isa isa) {
  const int64_t cpc = inv.knob("cols_per_cta");
  if (cpc < 0 || cpc % 2 != 0)
    return Status::Fail("knob cols_per_cta = " + std::to_string(cpc) +
                        " must be even and >= 0 (RoPE pairs are never split, docs/kernels/compressor.md)");
  const Tensor& values = inv.in("values");
  softmax_pool_run(inv.in("logits").data<float>(), values.raw(), values.dtype() == DType::bf16, inv.dim("n_blocks"),
                   inv.dim("M"), inv.dim("C"), inv.out("pooled").data<float>(), isa, inv.threads, cpc);
  return Status::Ok();
}

}  // namespace kcs::opt
