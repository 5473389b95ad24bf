// K4's stages (spec §10.4 tier A): steps 1-7 are the NVFP4 quantizer (nvfp4_quant) on
// hidden_states, the kernel's own input, writing the kernel's own x_fp4 and x_sf. Step 8 (the
// top-k copy) is no primitive kernel: the fused suite checks it bit-exact.
#include <vector>

#include "conformance/runner/stages.h"

namespace kcs {

std::vector<Stage> nvfp4_stage_stages(const Bundle& fused) {
  Stage q;
  q.name = "quantize";
  q.problem.kernel = "nvfp4_quant";
  q.problem.dims = {{"M", fused.problem.dim("M")}, {"K", fused.problem.dim("K")}};
  for (const char* a : {"x_dtype", "e2m1_ties", "saturate_scale"}) q.problem.attrs[a] = fused.problem.attr(a);
  q.bind = {{"x", "hidden_states"}, {"x_fp4", "x_fp4"}, {"x_sf", "x_sf"}};
  return {q};
}

}  // namespace kcs
