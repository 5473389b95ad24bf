// Declaration of K3, the DeepSeek V4 decode indexer (W8A8C16 score path + top-k, spec §5).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "decl/kernels.h"
#include "kcs/kernels/gemm_i8.h"
#include "kcs/kernels/v4_indexer.h"

namespace kcs {

namespace {

// Positions j >= cache_len keep NEG_FILL bit for bit (spec §10.2); no reference needed.
CheckResult score_neg_fill(const Problem& p, const TensorMap&, const TensorMap& out) {
  const Tensor& score = out.at("score");
  const int64_t L = p.dim("SCORE_LEN"), rows = p.dim("B") * p.dim("S");
  const int64_t cl = std::min(v4_indexer_cache_len(p.attr_i64("start_pos"), p.dim("S")), L);
  const float* s = score.data<float>();
  int64_t bad = 0;
  std::string first;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = cl; j < L; ++j) {
      uint32_t a, e;
      std::memcpy(&a, s + r * L + j, 4);
      std::memcpy(&e, &kV4NegFill, 4);
      if (a != e && bad++ == 0) first = "score[" + std::to_string(r) + ", " + std::to_string(j) + "]";
    }
  CheckResult c;
  c.name = "invariant:score_neg_fill";
  c.contract = "score[j >= cache_len] == -FLT_MAX bit for bit";
  c.passed = bad == 0;
  c.metrics.numel = rows * (L - cl);
  c.metrics.mismatches = bad;
  c.margin = bad == 0 ? 0 : INFINITY;
  if (bad) c.message = std::to_string(bad) + " elements of the NEG_FILL region differ; first: " + first;
  return c;
}

// Spec §10.5 K3 score, in full, plus the reference's budget B of legitimately shared errors (a
// flipped q code moves a whole token's scores; docs/kernels/v4_indexer.md "Contracts"). The
// reference's top-k tolerance tau is the same hard bound.
Contract score_contract() {
  Contract::Hard h;
  h.mul = 4;
  h.atol = 5e-3;
  h.atol_scale = Contract::Scale::max1_rms;
  return Contract::AbsRel(1e-4, 0x1.0p-7, kV4ScoreMaxRatio)
      .atol_by(Contract::Scale::max1_rms)
      .plus_reference_budget()
      .with_hard(h);
}

// The score's contract covers j < cache_len; score_neg_fill checks the rest bit for bit.
std::vector<uint8_t> valid_elements(const Problem& p, const std::string& name) {
  if (name != "score") return {};
  const int64_t L = p.dim("SCORE_LEN"), rows = p.dim("B") * p.dim("S");
  const int64_t cl = std::min(v4_indexer_cache_len(p.attr_i64("start_pos"), p.dim("S")), L);
  std::vector<uint8_t> v(static_cast<size_t>(rows * L), 0);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = 0; j < cl; ++j) v[static_cast<size_t>(r * L + j)] = 1;
  return v;
}

Status check_problem(const Problem& p) {
  if (p.dim("S") != 1)
    return Status::Fail("S = " + std::to_string(p.dim("S")) +
                        ": the PR #268 indexer assumes S = 1 (its score buffers have H columns, not S*H; "
                        "docs/kernels/v4_indexer.md); multi-token decode is not implemented");
  const int64_t R = p.dim("R"), Dh = p.dim("Dh");
  if (R % 2 != 0) return Status::Fail("rope dim R = " + std::to_string(R) + " is odd (R-PAIR needs pairs)");
  if (R > Dh) return Status::Fail("rope dim R = " + std::to_string(R) + " exceeds head dim Dh = " + std::to_string(Dh));
  if (p.dim("Q_LORA") > kGemmI8MaxK || Dh > kGemmI8MaxK)
    return Status::Fail("Q_LORA / Dh beyond " + std::to_string(kGemmI8MaxK) + ": int32 accumulators could overflow");
  const int64_t start_pos = p.attr_i64("start_pos"), offset = p.attr_i64("offset");
  if (start_pos < 1)
    return Status::Fail("start_pos = " + std::to_string(start_pos) +
                        ": must be >= 1 (start_pos 0 is the prefill branch, out of scope; docs/kernels/v4_indexer.md)");
  const int64_t cl = v4_indexer_cache_len(start_pos, p.dim("S"));
  if (cl > p.dim("SCORE_LEN"))
    return Status::Fail("start_pos = " + std::to_string(start_pos) + " gives cache_len " + std::to_string(cl) +
                        " > SCORE_LEN " + std::to_string(p.dim("SCORE_LEN")) + " (idx_kv_cache rows)");
  if (offset < 0 || offset + p.dim("SCORE_LEN") > INT32_MAX)
    return Status::Fail("offset = " + std::to_string(offset) + ": offset + SCORE_LEN must fit in [0, 2^31)");
  return Status::Ok();
}

KernelDecl make() {
  KernelDecl d;
  d.id = "v4_indexer";
  d.title = "K3 DeepSeek V4 decode indexer, W8A8C16 score path + top-k";
  d.spec = "docs/kernels/v4_indexer.md";
  d.dims = {
      {"B", "decode batch (tokens, S = 1)", 0},
      {"S", "tokens per batch entry (must be 1: PR #268)", 1},
      {"D", "hidden size (4096 Flash, 7168 Pro)", 1},
      {"Q_LORA", "q_lora_rank (1024 Flash, 1536 Pro)", 1},
      {"H", "index heads (64)", 1},
      {"Dh", "index head dim (128)", 1},
      {"R", "rope dim, the last R columns of a head (64)", 2},
      {"SCORE_LEN", "MAX_SEQ / 4: idx_kv_cache rows and score width", 1},
      {"TOPK", "top-k width (16 in the PR test, 512 Flash, 1024 Pro)", 1},
  };
  d.attrs = {
      {"round_mode", AttrDecl::Kind::choice, "rint", {"rint", "rhaz"},
       "FP32->INT32 rounding of every Q8 (rint = PR #279; rhaz = PR #268 fixtures; docs/kernels/v4_indexer.md)"},
      {"start_pos", AttrDecl::Kind::integer, "3", {}, "decode step; cache_len = (start_pos + 1) div 4"},
      {"offset", AttrDecl::Kind::integer, "0", {}, "added to the output indices (sliding window size)"},
  };
  d.tensors = {
      input("x", DType::bf16, {"B", "S", "D"}, "hidden states"),
      input("qr", DType::bf16, {"B", "S", "Q_LORA"}, "q_norm(wq_a(x)) of the attention"),
      input("wq_b", DType::i8, {"Q_LORA", "H", "Dh"}, "per-output-channel INT8 weights, row-major ND [Q_LORA, H*Dh]"),
      input("wq_b_scale", DType::fp32, {"H", "Dh"}, "per-output-column dequant scale [H*Dh]"),
      input("weights_proj", DType::bf16, {"D", "H"}, "head-weight projection"),
      input("cos", DType::fp32, {"1", "R/2"}, "half table row of position start_pos (shared by all tokens)"),
      input("sin", DType::fp32, {"1", "R/2"}, "half table row of position start_pos"),
      input("hadamard", DType::bf16, {"Dh", "Dh"}, "dense Hadamard matrix (realistic: bf16(H/sqrt(Dh)))"),
      input("idx_kv_cache", DType::bf16, {"B", "SCORE_LEN", "Dh"},
            "compressed indexer cache, contiguous per batch (already holds this step's entry; §5.4)"),
      output("score", DType::fp32, {"B", "S", "SCORE_LEN"}, score_contract(),
             "index scores on the valid region j < cache_len (spec §10.5: atol 1e-4·max(1, rms), rtol 2^-7, "
             "0.5%, hard max(4·tol, 5e-3·max(1, rms)); both + the reference's budget B of a q value rounded "
             "otherwise, docs/kernels/v4_indexer.md); NEG_FILL beyond (invariant score_neg_fill)"),
      output("topk_idxs", DType::i32, {"B", "S", "SCORE_LEN"}, Contract::TopkSet(),
             "top-k positions + offset, descending (ties by lower index in the reference), then -1"),
  };
  d.knobs = {
      {"token_tile", "tokens per work item (0 = all tokens in one item)", 16, true},
      {"cache_tile", "cache rows quantized and scored per tile (CACHE_TILE; 0 = all rows of a token)", 32, true},
      {"q_k_block", "K per accumulation pass of qr x wq_b (Q_CHUCK; 0 = engine default); integer sums are exact", 0,
       true},
      {"head_chunk", "heads per work item of the weights GEMM (HEAD_CHUCK; 0 = all)", 16, true},
      {"hadamard_k_block", "K per summation block of the Hadamard GEMM (HEAD_DIM_CHUCK; 0 = one fp32 chain)", 0,
       false},
      {"weights_k_block", "K per summation block of the weights GEMM (D_CHUCK; 0 = one fp32 chain)", 0, false},
  };
  d.invariants = {{"score_neg_fill", "score beyond cache_len is NEG_FILL bit for bit", &score_neg_fill}};
  d.check_problem = &check_problem;
  d.valid_elements = &valid_elements;
  return d;
}

}  // namespace

const KernelDecl& v4_indexer_decl() {
  static const KernelDecl d = make();
  return d;
}

}  // namespace kcs
