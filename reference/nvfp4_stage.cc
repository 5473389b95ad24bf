// Reference K4 staging kernel (spec §6.3): the NVFP4 quantizer's reference (reference/
// nvfp4_quant.cc, binary32 as spec §10.1 defines it) on each token's hidden row, then step 8's
// top-k copies. Nothing here re-implements the coder: the fused reference is the primitive's.
#include <cstring>
#include <string>
#include <vector>

#include "kcs/backend.h"
#include "kcs/kernels/nvfp4_stage.h"
#include "reference/kernels.h"

namespace kcs {

void nvfp4_stage_topk_reference(const void* ids, DType ids_dtype, const float* weights, int64_t top_k,
                                int64_t* idx_out, float* weights_out) {
  for (int64_t j = 0; j < top_k; ++j) {
    switch (ids_dtype) {
      case DType::i32: idx_out[j] = static_cast<int64_t>(static_cast<const int32_t*>(ids)[j]); break;
      case DType::i64: idx_out[j] = static_cast<const int64_t*>(ids)[j]; break;
      default: throw Error(std::string("nvfp4_stage: topk_ids dtype ") + dtype_name(ids_dtype) + " is not int32/int64");
    }
    // A value copy that keeps every bit (a NaN payload too), as the kernel's load/store does.
    std::memcpy(weights_out + j, weights + j, sizeof(float));
  }
}

namespace ref {

Status nvfp4_stage(const Invocation& inv) {
  const Tensor& x = inv.in("hidden_states");
  const Tensor& ids = inv.in("topk_ids");
  const Tensor& w = inv.in("topk_weights");
  uint8_t* fp4 = inv.out("x_fp4").data<uint8_t>();
  int32_t* sf = inv.out("x_sf").data<int32_t>();
  int64_t* idx_out = inv.out("topk_idx_out").data<int64_t>();
  float* w_out = inv.out("topk_weights_out").data<float>();
  const Nvfp4Params q = nvfp4_params(*inv.problem);
  const int64_t m = x.rows(), k = x.row_len(), top_k = ids.row_len();
  float* w_pre = nullptr;
  float* s_pre = nullptr;
  if (inv.extras) {
    // As nvfp4_quant records them: the clamped w each E2M1 code rounds and the fp32 scale each
    // UE4M3 byte encodes (binary32, as the contract is). No intermediates: the quantize stage's
    // input and outputs are the kernel's own hidden_states, x_fp4 and x_sf.
    w_pre = (inv.extras->prerounding["x_fp4"] = Tensor(DType::fp32, {m, k})).data<float>();
    s_pre = (inv.extras->prerounding["x_sf"] = Tensor(DType::fp32, {m, k / kNvfp4Group})).data<float>();
  }
  const size_t xsize = dtype_size(x.dtype()), isize = dtype_size(ids.dtype());
  std::vector<float> row(static_cast<size_t>(k));
  for (int64_t r = 0; r < m; ++r) {
    // Steps 1-7: widen, then the primitive's row coder.
    nvfp4_widen(static_cast<const char*>(x.raw()) + static_cast<size_t>(r * k) * xsize, x.dtype(), k, row.data());
    nvfp4_row_reference(row.data(), k, q, fp4 + r * (k / 2), sf + r * (k / 64), w_pre ? w_pre + r * k : nullptr,
                        s_pre ? s_pre + r * (k / kNvfp4Group) : nullptr);
    // Step 8.
    nvfp4_stage_topk_reference(static_cast<const char*>(ids.raw()) + static_cast<size_t>(r * top_k) * isize,
                               ids.dtype(), w.data<float>() + r * top_k, top_k, idx_out + r * top_k,
                               w_out + r * top_k);
  }
  return Status::Ok();
}

}  // namespace ref
}  // namespace kcs
