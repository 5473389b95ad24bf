// Stages of the K5 compressor (spec §10.4 tier A), bound to the fused reference's intermediates
// (reference/compressor.cc). Per head (main; the CSA indexer prefixed "idx_"):
//   pool     softmax_pool over the window (logits, values -> pooled)
//   model epilogue only:
//   norm     rmsnorm, form v4 (xb -> norm, FP32 w)
//   rope     rope, R-PAIR on the last ROPE columns with the block-start table rows (norm_3d ->
//            rope; the main head's rope is kv_out)
//   hadamard (indexer) hadamard (idx_rot_in -> indexer_out)
// The fused epilogue's RoPE rotates the fp32 pooled values (spec §7.4): the rope primitive takes
// BF16 x only, so that step has no stage; the end-to-end contract covers it.
#include <string>
#include <vector>

#include "conformance/runner/stages.h"

namespace kcs {

std::vector<Stage> compressor_stages(const Bundle& fused) {
  const Problem& p = fused.problem;
  const bool csa = p.attr("variant") == "csa";
  const bool model = p.attr("epilogue") == "model";
  const int64_t nb = p.dim("n_blocks"), M = p.dim("M"), R = p.dim("ROPE");
  std::vector<Stage> out;
  auto head = [&](const std::string& pre, int64_t Ch, const std::string& w, bool rotate) {
    Stage pool;
    pool.name = pre + "pool";
    pool.problem.kernel = "softmax_pool";
    pool.problem.dims = {{"n_blocks", nb}, {"M", csa ? 2 * M : M}, {"C", Ch}};
    pool.problem.attrs = {{"value_dtype", p.attr("proj_dtype")}};
    pool.bind = {{"logits", pre + "logits"}, {"values", pre + "values"}, {"pooled", pre + "pooled"}};
    out.push_back(pool);
    if (!model) return;
    Stage norm;
    norm.name = pre + "norm";
    norm.problem.kernel = "rmsnorm";
    norm.problem.dims = {{"rows", nb}, {"n", Ch}};
    norm.problem.attrs = {{"form", "v4"}, {"eps", p.attr("eps")}, {"gamma_dtype", "float32"}};
    norm.bind = {{"x", pre + "xb"}, {"gamma", w}, {"y", pre + "norm"}};
    out.push_back(norm);
    Stage rope;
    rope.name = pre + "rope";
    rope.problem.kernel = "rope";
    rope.problem.dims = {{"T", nb}, {"H", 1}, {"D", Ch}, {"R", R}, {"W", R / 2}};
    rope.problem.attrs = {{"mode", "pair"}, {"table", "half"}, {"table_dtype", p.attr("table_dtype")}, {"slice", "last"}};
    rope.bind = {{"x", pre + "norm_3d"}, {"cos", "rope_cos"}, {"sin", "rope_sin"}, {"y", pre + "rope"}};
    out.push_back(rope);
    if (!rotate) return;
    Stage had;
    had.name = pre + "hadamard";
    had.problem.kernel = "hadamard";
    had.problem.dims = {{"T", nb}, {"D", Ch}};
    had.bind = {{"x", pre + "rot_in"}, {"hadamard", "hadamard"}, {"y", "indexer_out"}};
    out.push_back(had);
  };
  head("", p.dim("C"), "norm_w", false);
  if (csa) head("idx_", p.dim("C_I"), "norm_w_indexer", true);
  return out;
}

}  // namespace kcs
