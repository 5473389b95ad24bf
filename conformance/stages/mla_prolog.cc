// Stages of K2 MLA Prolog Quant (spec §4.3 order, §10.4 tier A): each primitive of the fused
// reference, bound to the stage tensors reference/mla_prolog.cc records.
#include <string>
#include <vector>

#include "conformance/runner/stages.h"
#include "kcs/kernels/mla_prolog.h"

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

std::vector<Stage> mla_prolog_stages(const Bundle& fused) {
  const Problem& p = fused.problem;
  const MlaPrologDims d = mla_prolog_dims(p);
  const int64_t t = d.t;
  const std::string layout = p.attr("cache_layout");
  std::vector<Stage> st;
  st.push_back(stage("q_down", "gemm_bf16", {{"B", 1}, {"M", t}, {"K", d.h}, {"N", d.q_lora}},
                     {{"out_dtype", "bfloat16"}}, {{"a", "x_b"}, {"w", "w_dq_b"}, {"y", "qa_b"}}));
  st.push_back(stage("q_norm", "rmsnorm", {{"rows", t}, {"n", d.q_lora}},
                     {{"form", "pypto"}, {"eps", p.attr("eps_cq")}, {"gamma_dtype", "bfloat16"}},
                     {{"x", "qa"}, {"gamma", "gamma_cq"}, {"y", "cq"}}));
  if (d.quant) {
    st.push_back(stage("q_quant", "q8", {{"rows", t}, {"n", d.q_lora}},
                       {{"round_mode", "rint"}, {"amax_floor", "none"}, {"x_dtype", "bfloat16"},
                        {"scale_dtype", "float32"}},
                       {{"x", "cq"}, {"codes", "q_norm_out"}, {"scale", "q_norm_scale_out"}}));
    st.push_back(stage("q_up", "gemm_i8", {{"m", t}, {"k", d.q_lora}, {"n", d.nq()}}, {{"out_dtype", "bfloat16"}},
                       {{"a", "q_norm_out"},
                        {"w", "w_uq_qr"},
                        {"s_row", "q_norm_scale_out"},
                        {"s_col", "dequant_scale"},
                        {"y", "qb"}}));
  } else {
    st.push_back(stage("q_up", "gemm_bf16", {{"B", 1}, {"M", t}, {"K", d.q_lora}, {"N", d.nq()}},
                       {{"out_dtype", "bfloat16"}}, {{"a", "cq_b"}, {"w", "w_uq_qr_b"}, {"y", "qb_b"}}));
  }
  st.push_back(stage("q_nope", "gemm_bf16", {{"B", d.n1}, {"M", t}, {"K", d.nope}, {"N", d.kv_lora}},
                     {{"out_dtype", "bfloat16"}}, {{"a", "q_nope"}, {"w", "w_uk"}, {"y", "query_nope_hm"}}));
  const Attrs rope_attrs = {{"mode", "v2"}, {"table", "full"}, {"table_dtype", "bfloat16"}, {"slice", "first"}};
  st.push_back(stage("q_rope", "rope", {{"T", t}, {"H", d.n1}, {"D", d.rope}, {"R", d.rope}, {"W", d.rope}},
                     rope_attrs, {{"x", "q_rope_in"}, {"cos", "cos"}, {"sin", "sin"}, {"y", "query_rope_out"}}));
  st.push_back(stage("kv_down", "gemm_bf16", {{"B", 1}, {"M", t}, {"K", d.h}, {"N", d.nkv()}},
                     {{"out_dtype", "bfloat16"}}, {{"a", "x_b"}, {"w", "w_dkv_kr_b"}, {"y", "kv_b"}}));
  st.push_back(stage("k_rope", "rope", {{"T", t}, {"H", 1}, {"D", d.rope}, {"R", d.rope}, {"W", d.rope}}, rope_attrs,
                     {{"x", "k_rope_in"}, {"cos", "cos"}, {"sin", "sin"}, {"y", "kr"}}));
  st.push_back(stage("kv_norm", "rmsnorm", {{"rows", t}, {"n", d.kv_lora}},
                     {{"form", "pypto"}, {"eps", p.attr("eps_ckv")}, {"gamma_dtype", "bfloat16"}},
                     {{"x", "ckv_in"}, {"gamma", "gamma_ckv"}, {"y", "ckv"}}));
  if (d.quant)
    st.push_back(stage("kv_quant", "q8", {{"rows", t * kMlaKvGroups}, {"n", d.group()}},
                       {{"round_mode", "rint"}, {"amax_floor", "none"}, {"x_dtype", "bfloat16"},
                        {"scale_dtype", "float32"}},
                       {{"x", "ckv_groups"}, {"codes", "kv_codes"}, {"scale", "k_scale"}}));
  const Dims cache = {{"T", t}, {"block_num", d.block_num}, {"block_size", d.block_size}};
  auto with_d = [&](int64_t D) {
    Dims c = cache;
    c["D"] = D;
    return c;
  };
  st.push_back(stage("kr_scatter", "scatter", with_d(d.rope), {{"dtype", "bfloat16"}, {"cache_layout", layout}},
                     {{"cache", "kr_cache"}, {"src", "kr_rows"}, {"index", "cache_index"}}));
  st.push_back(stage("kv_scatter", "scatter", with_d(d.kv_lora),
                     {{"dtype", d.quant ? "int8" : "bfloat16"}, {"cache_layout", layout}},
                     {{"cache", "kv_cache"}, {"src", d.quant ? "kv_codes_rows" : "ckv"}, {"index", "cache_index"}}));
  if (d.quant)
    st.push_back(stage("k_scale_scatter", "scatter", with_d(kMlaKvGroups),
                       {{"dtype", "float32"}, {"cache_layout", layout}},
                       {{"cache", "k_scale_cache"}, {"src", "k_scale_rows"}, {"index", "cache_index"}}));
  return st;
}

}  // namespace kcs
