// Stages of K3 (spec §5.3, §10.4 tier A), bound to the intermediates the fused reference records
// in the primitives' shapes (reference/v4_indexer.cc). The cache-side stages run per token, since
// each token has its own cache rows and q codes (the score GEMM is kv_i8 [cache_len, Dh] x qh_i8ᵀ).
// ReLU, the weighted head sum and the top-k have no primitive: the fused contracts cover them.
#include <string>
#include <vector>

#include "conformance/runner/stages.h"
#include "kcs/kernels/v4_indexer.h"

namespace kcs {

std::vector<Stage> v4_indexer_stages(const Bundle& fused) {
  const Problem& p = fused.problem;
  const int64_t T = p.dim("B") * p.dim("S"), D = p.dim("D"), QL = p.dim("Q_LORA"), H = p.dim("H"),
                Dh = p.dim("Dh"), R = p.dim("R");
  const std::string rmode = p.attr("round_mode");
  const int64_t cl = v4_indexer_cache_len(p.attr_i64("start_pos"), p.dim("S"));
  auto q8 = [&](std::string name, int64_t rows, int64_t n, std::string x, std::string codes, std::string scale) {
    Stage s;
    s.name = std::move(name);
    s.problem.kernel = "q8";
    s.problem.dims = {{"rows", rows}, {"n", n}};
    s.problem.attrs = {{"round_mode", rmode}, {"amax_floor", "1e-4"}, {"x_dtype", "bfloat16"},
                       {"scale_dtype", "float32"}};
    s.bind = {{"x", std::move(x)}, {"codes", std::move(codes)}, {"scale", std::move(scale)}};
    return s;
  };
  std::vector<Stage> st;
  st.push_back(q8("qr_quant", T, QL, "qr_rows", "qr_i8", "s_qr"));
  {
    Stage s;
    s.name = "q_proj";
    s.problem.kernel = "gemm_i8";
    s.problem.dims = {{"m", T}, {"k", QL}, {"n", H * Dh}};
    s.problem.attrs = {{"out_dtype", "bfloat16"}};
    s.bind = {{"a", "qr_i8"}, {"w", "wq_b_rows"}, {"s_row", "s_qr"}, {"s_col", "wq_b_scale_col"}, {"acc", "q_acc"}, {"y", "q"}};
    st.push_back(s);
  }
  {
    Stage s;
    s.name = "q_rope";
    s.problem.kernel = "rope";
    s.problem.dims = {{"T", T}, {"H", H}, {"D", Dh}, {"R", R}, {"W", R / 2}};
    s.problem.attrs = {{"mode", "pair"}, {"table", "half"}, {"table_dtype", "float32"}, {"slice", "last"}};
    s.bind = {{"x", "q_heads"}, {"cos", "cos_rows"}, {"sin", "sin_rows"}, {"y", "q_rot"}};
    st.push_back(s);
  }
  {
    Stage s;
    s.name = "q_hadamard";
    s.problem.kernel = "hadamard";
    s.problem.dims = {{"T", T * H}, {"D", Dh}};
    s.bind = {{"x", "q_rot_rows"}, {"hadamard", "hadamard"}, {"y", "qh"}};
    st.push_back(s);
  }
  st.push_back(q8("q_quant", T * H, Dh, "qh", "qh_i8", "s_qh"));
  {
    Stage s;
    s.name = "weights";
    s.problem.kernel = "gemm_bf16";
    s.problem.dims = {{"B", 1}, {"M", T}, {"K", D}, {"N", H}};
    s.problem.attrs = {{"out_dtype", "float32"}};
    s.bind = {{"a", "x_rows"}, {"w", "weights_proj_b"}, {"y", "wx"}};
    st.push_back(s);
  }
  if (cl > 0) {
    for (int64_t t = 0; t < T; ++t) {
      const std::string sfx = ".t" + std::to_string(t);
      st.push_back(q8("kv_quant" + sfx, cl, Dh, "kv_rows" + sfx, "kv_i8" + sfx, "s_kv" + sfx));
      Stage s;
      s.name = "logits" + sfx;
      s.problem.kernel = "gemm_i8";
      s.problem.dims = {{"m", cl}, {"k", Dh}, {"n", H}};
      s.problem.attrs = {{"out_dtype", "float32"}};
      s.bind = {{"a", "kv_i8" + sfx},        {"w", "qh_i8_T" + sfx},  {"s_row", "s_kv" + sfx},
                {"s_col", "s_qh" + sfx},     {"acc", "logits_acc" + sfx}, {"y", "logits" + sfx}};
      st.push_back(s);
    }
  }
  return st;
}

}  // namespace kcs
