// Stages of K1 indexer_prolog (spec §3.3, §10.4 tier A): each step as its primitive kernel, bound
// to the tensors the fused reference records (reference/indexer_prolog.cc). Step 13 (weights =
// fp16(f32(wb) ⊗ c)) has no primitive; its input wb is the w_linear stage's output.
#include <string>
#include <vector>

#include "conformance/runner/stages.h"

namespace kcs {

namespace {

Stage stage(std::string name, std::string kernel, Dims dims, Attrs attrs, std::map<std::string, std::string> bind) {
  Stage s;
  s.name = std::move(name);
  s.problem.kernel = std::move(kernel);
  s.problem.dims = std::move(dims);
  s.problem.attrs = std::move(attrs);
  s.bind = std::move(bind);
  return s;
}

}  // namespace

std::vector<Stage> indexer_prolog_stages(const Bundle& fused) {
  const Problem& p = fused.problem;
  const int64_t t = p.dim("t"), h = p.dim("h"), q_lora = p.dim("q_lora"), H = p.dim("H"), D = p.dim("D"),
                R = p.dim("R"), bn = p.dim("block_num"), bs = p.dim("block_size");
  std::vector<Stage> s;
  // Query path (steps 1-5).
  s.push_back(stage("q_linear", "gemm_i8", {{"m", t}, {"k", q_lora}, {"n", H * D}}, {{"out_dtype", "bfloat16"}},
                    {{"a", "q_norm"}, {"w", "w_qb_kn"}, {"s_row", "q_norm_scale"}, {"s_col", "w_qb_scale_n"}, {"y", "qb"}}));
  s.push_back(stage("q_rope", "rope", {{"T", t}, {"H", H}, {"D", D}, {"R", R}, {"W", R}}, {},
                    {{"x", "qb_heads"}, {"cos", "cos"}, {"sin", "sin"}, {"y", "q_cat"}}));
  s.push_back(stage("q_hadamard", "hadamard", {{"T", t * H}, {"D", D}}, {},
                    {{"x", "q_cat_rows"}, {"hadamard", "hadamard_q"}, {"y", "qh"}}));
  s.push_back(stage("q_quant", "q8", {{"rows", t * H}, {"n", D}}, {{"scale_dtype", "float16"}},
                    {{"x", "qh"}, {"codes", "q_codes"}, {"scale", "q_scale_rows"}}));
  // Key path (steps 6-11).
  s.push_back(stage("k_linear", "gemm_bf16", {{"B", 1}, {"M", t}, {"K", h}, {"N", D}}, {{"out_dtype", "float32"}},
                    {{"a", "x_b"}, {"w", "wk_b"}, {"y", "kf"}}));
  s.push_back(stage("k_norm", "layernorm", {{"rows", t}, {"n", D}}, {{"eps", p.attr("eps")}},
                    {{"x", "kf_rows"}, {"gamma", "ln_gamma_k"}, {"beta", "ln_beta_k"}, {"y", "kb"}}));
  s.push_back(stage("k_rope", "rope", {{"T", t}, {"H", 1}, {"D", D}, {"R", R}, {"W", R}}, {},
                    {{"x", "kb_heads"}, {"cos", "cos"}, {"sin", "sin"}, {"y", "k_cat"}}));
  s.push_back(stage("k_hadamard", "hadamard", {{"T", t}, {"D", D}}, {},
                    {{"x", "k_cat_rows"}, {"hadamard", "hadamard_k"}, {"y", "kh"}}));
  s.push_back(stage("k_quant", "q8", {{"rows", t}, {"n", D}}, {{"scale_dtype", "float16"}},
                    {{"x", "kh"}, {"codes", "k_codes"}, {"scale", "k_scale"}}));
  s.push_back(stage("k_scatter", "scatter", {{"T", t}, {"block_num", bn}, {"block_size", bs}, {"D", D}},
                    {{"dtype", "int8"}}, {{"cache", "k_cache"}, {"src", "k_codes"}, {"index", "k_cache_index"}}));
  s.push_back(stage("k_scale_scatter", "scatter", {{"T", t}, {"block_num", bn}, {"block_size", bs}, {"D", 1}},
                    {{"dtype", "float16"}}, {{"cache", "k_scale_cache"}, {"src", "k_scale"}, {"index", "k_cache_index"}}));
  // Weights path (step 12; step 13 has no primitive).
  s.push_back(stage("w_linear", "gemm_bf16", {{"B", 1}, {"M", t}, {"K", h}, {"N", H}}, {{"out_dtype", "bfloat16"}},
                    {{"a", "x_b"}, {"w", "w_proj_b"}, {"y", "wb"}}));
  return s;
}

}  // namespace kcs
