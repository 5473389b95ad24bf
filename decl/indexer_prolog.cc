// Declaration of K1, the Lightning Indexer Prolog Quant of DeepSeek V3.2 (spec §3).
//
// Shapes follow spec §3.2 with two reshapes that keep the bytes: w_qb is [q_lora, H, D] and
// w_qb_scale [H, D] (spec: [q_lora, H·D] and [H·D, 1]; kcs shapes name one dimension per entry).
//
// Contracts (spec §10.5, tier B):
//   q_int8, k_cache (written rows)  int_code(1, 1%), plus the ±127 row invariant below
//   q_scale, k_scale_cache           abs_rel(0, 2^-7 + 1ulp, 0) self_consistent(bf16 amax): the spec's
//                                    hard bound |Δ| <= 2^-7·|r| + ulp16(r) on every element, and a
//                                    scale that differs must be fp16(1/(127/a)) for some BF16 amax a
//                                    (bit-exact where the backend's amax is the reference's)
//   weights                          ulp_or_budget(1, 1, ""): d_ulp <= 1, or |y − pre| <= ½ulp16(pre) + B·2^-24
//                                    with pre = f32(wb) ⊗ c (binary32) and the budget recorded by the
//                                    reference B = 2^24·c·ulp_bf16(ŵ) + 2h·c·A + 2|pre|: one BF16 flip of
//                                    wb plus the fp32 GEMM error 2h·2^-24·A (spec §10.5 K1 weights row),
//                                    and the binary32 product's own rounding on both sides. The 1% rate
//                                    rule of §10.5 is a test in conformance/suites/indexer_prolog_test.cc.
//   every cache byte no index names  untouched (implicit for in-out tensors)
// Tier A (each stage fed the reference's stage input): conformance/stages/indexer_prolog.cc.
//
// Tile knobs (spec §3.5, CPU meaning):
//   unroll      unroll_list [u, 2^k < u ..., 1] (u = 32 is the default list [32, 16, 8, 4, 2, 1];
//               u = 3 gives [3, 2, 1]; 0 = all tokens in one tile). Token tiles: bit-invariant.
//   head_chunk  heads per q work item (chunk_size; >= H: all heads; 0 = auto: 4096/D heads below 13
//               tokens, so that the int8 GEMM reads long runs of each weight row, else 2). Bit-invariant.
//   q_k_block   K per pass of the int8 q GEMM (q_linear[2:4]); integer sums: bit-invariant.
//   k_k_block, w_k_block, hd_k_block   K blocks of x·wk, x·w_proj and the two Hadamard GEMMs
//               (k_linear / w_linear / q_hd [2:4]); change fp32 summation: within the contracts.
#include <cmath>
#include <string>
#include <vector>

#include "decl/kernels.h"
#include "kcs/formats.h"
#include "kcs/kernels/gemm_i8.h"
#include "kcs/kernels/indexer_prolog.h"
#include "kcs/kernels/layernorm.h"
#include "kcs/kernels/rmsnorm.h"
#include "kcs/kernels/scatter.h"

namespace kcs {

float indexer_prolog_weight_scale(int64_t H, int64_t D) {
  return static_cast<float>(1.0 / (std::sqrt(static_cast<double>(H)) * std::sqrt(static_cast<double>(D))));
}

uint16_t indexer_prolog_weight(uint16_t wb_bf16, float c) {
  const float p = bf16_to_float(wb_bf16) * c;  // one binary32 multiply (spec §3.3 step 13)
  return fp16_from_float(p);
}

namespace {

ScatterGeom cache_geom(const Problem& p, int64_t D, size_t elem) {
  ScatterGeom g;
  g.block_num = p.dim("block_num");
  g.block_size = p.dim("block_size");
  g.D = D;
  g.elem_size = elem;
  g.layout = CacheLayout::pa_bsnd;
  return g;
}

Status check_problem(const Problem& p) {
  const int64_t D = p.dim("D"), R = p.dim("R"), q_lora = p.dim("q_lora");
  if (R % 2 != 0) return Status::Fail("dimension R = " + std::to_string(R) + " (rope dim of cos/sin) must be even (docs/kernels/indexer_prolog.md)");
  if (D < R)
    return Status::Fail("dimension D = " + std::to_string(D) + " (head dim of hadamard_q / q_int8) is smaller than the rope dim R = " +
                        std::to_string(R) + " (docs/kernels/indexer_prolog.md)");
  if (q_lora > kGemmI8MaxK)
    return Status::Fail("dimension q_lora = " + std::to_string(q_lora) + " (columns of q_norm) exceeds " +
                        std::to_string(kGemmI8MaxK) + ": the int32 accumulators of q_norm·w_qb could overflow (docs/kernels/gemm_i8.md)");
  if (D > kNormMaxRow)
    return Status::Fail("dimension D = " + std::to_string(D) + " exceeds " + std::to_string(kNormMaxRow) +
                        ", the longest LayerNorm row the error budget is derived for");
  const double eps = p.attr_f64("eps");
  if (!(eps > 0) || !std::isfinite(eps))
    return Status::Fail("eps = " + p.attr("eps") + " must be a positive finite number (LayerNorm of a constant kf row)");
  return Status::Ok();
}

Status check_inputs(const Problem& p, const TensorMap& t) {
  const Tensor& index = t.at("k_cache_index");
  Status s = scatter_check_indices(cache_geom(p, p.dim("D"), 1), index.data<int64_t>(), index.numel(), "k_cache");
  if (!s) return Status::Fail("k_cache_index: " + s.message);
  return Status::Ok();
}

std::vector<uint8_t> touched(const Problem& p, const TensorMap& t, const std::string& name) {
  if (name != "k_cache" && name != "k_scale_cache") throw Error("indexer_prolog has no in-out tensor '" + name + "'");
  const Tensor& index = t.at("k_cache_index");
  return scatter_touched_rows(cache_geom(p, name == "k_cache" ? p.dim("D") : 1, 1), index.data<int64_t>(),
                              index.numel());
}

CheckResult invariant_result(const std::string& name, const std::string& rule, int64_t bad, int64_t rows,
                             const std::string& first) {
  CheckResult c;
  c.name = "invariant:" + name;
  c.contract = rule;
  c.passed = bad == 0;
  c.metrics.numel = rows;
  c.metrics.mismatches = bad;
  c.metrics.mismatch_ratio = rows ? static_cast<double>(bad) / static_cast<double>(rows) : 0;
  c.margin = bad == 0 ? 0 : INFINITY;
  if (bad) c.message = std::to_string(bad) + " of " + std::to_string(rows) + " rows violate it; first: " + first;
  return c;
}

// Q8 without a floor (spec §1.1): a row with a nonzero input has its amax element at ±127, and a
// zero row has all codes 0 and scale +0. Seen from the outputs: a row with any nonzero code holds
// a ±127 code, and a row of zero codes has the scale +0.
bool q8_row_ok(const int8_t* c, int64_t n, uint16_t scale) {
  bool any = false, has127 = false;
  for (int64_t j = 0; j < n; ++j) {
    any |= c[j] != 0;
    has127 |= c[j] == 127 || c[j] == -127;
  }
  return any ? has127 : scale == 0;
}

CheckResult q_rows(const Problem& p, const TensorMap&, const TensorMap& out) {
  const int64_t rows = p.dim("t") * p.dim("H"), D = p.dim("D");
  const int8_t* q = out.at("q_int8").data<int8_t>();
  const uint16_t* s = out.at("q_scale").data<uint16_t>();
  int64_t bad = 0;
  std::string first;
  for (int64_t r = 0; r < rows; ++r)
    if (!q8_row_ok(q + r * D, D, s[r]) && bad++ == 0)
      first = "token " + std::to_string(r / p.dim("H")) + " head " + std::to_string(r % p.dim("H"));
  return invariant_result("q_row_has_127", "every q_int8 row with a nonzero code holds a +-127 code; zero rows have scale +0",
                          bad, rows, first);
}

CheckResult k_rows(const Problem& p, const TensorMap& in, const TensorMap& out) {
  const int64_t D = p.dim("D");
  const Tensor& index = in.count("k_cache_index") ? in.at("k_cache_index") : out.at("k_cache_index");
  const int8_t* k = out.at("k_cache").data<int8_t>();
  const uint16_t* s = out.at("k_scale_cache").data<uint16_t>();
  const std::vector<uint8_t> w = scatter_touched_rows(cache_geom(p, D, 1), index.data<int64_t>(), index.numel());
  int64_t bad = 0, rows = 0;
  std::string first;
  for (size_t r = 0; r < w.size(); ++r) {
    if (!w[r]) continue;
    ++rows;
    if (!q8_row_ok(k + static_cast<int64_t>(r) * D, D, s[r]) && bad++ == 0) first = "cache row " + std::to_string(r);
  }
  return invariant_result("k_row_has_127",
                          "every written k_cache row with a nonzero code holds a +-127 code; zero rows have scale +0", bad,
                          rows, first);
}

KernelDecl make() {
  KernelDecl d;
  d.id = "indexer_prolog";
  d.title = "K1 Lightning Indexer Prolog Quant (DeepSeek V3.2): int8 q + fp16 scales, int8 paged k cache, fp16 weights";
  d.spec = "docs/kernels/indexer_prolog.md";
  d.dims = {
      {"t", "tokens", 0},
      {"h", "hidden size (x columns; V3.2: 7168)", 1},
      {"q_lora", "q_lora_rank (q_norm columns; V3.2: 1536)", 1},
      {"H", "indexer heads (V3.2: 64)", 1},
      {"D", "indexer head dim (V3.2: 128)", 1},
      {"R", "rope dim (even; V3.2: 64)", 2},
      {"block_num", "k cache blocks", 1},
      {"block_size", "slots per cache block (V3.2: 128)", 1},
  };
  d.attrs = {
      {"eps", AttrDecl::Kind::real, "1e-6", {}, "LayerNorm eps of the key path (P1 tests: 1e-6)"},
      {"layout_query", AttrDecl::Kind::choice, "TND", {"TND"}, "q_int8 layout [t, H, D]"},
      {"layout_key", AttrDecl::Kind::choice, "PA_BSND", {"PA_BSND"}, "k cache layout (the shipped kernel implements PA_BSND only)"},
  };
  const Contract scale = Contract::AbsRel(0, 0x1.0p-7, 0).plus_ulps(1).self_consistent_scale(DType::bf16);
  d.tensors = {
      input("x", DType::bf16, {"t", "h"}, "hidden states"),
      input("q_norm", DType::i8, {"t", "q_lora"}, "K2's q_norm_out"),
      input("q_norm_scale", DType::fp32, {"t", "1"}, "K2's q_norm_scale_out (may be negative)"),
      as_weight(input("w_qb", DType::i8, {"q_lora", "H", "D"}, "q_b weights, row-major [q_lora, H·D]")),
      as_weight(input("w_qb_scale", DType::fp32, {"H", "D"}, "per output channel scale ([H·D, 1] in the spec)")),
      as_weight(input("wk", DType::bf16, {"h", "D"}, "key projection")),
      as_weight(input("w_proj", DType::bf16, {"h", "H"}, "weights projection")),
      as_weight(input("ln_gamma_k", DType::bf16, {"D"}, "LayerNorm scale")),
      as_weight(input("ln_beta_k", DType::bf16, {"D"}, "LayerNorm shift")),
      input("cos", DType::bf16, {"t", "R"}, "half-duplicated cos table, one row per token"),
      input("sin", DType::bf16, {"t", "R"}, "half-duplicated sin table"),
      as_weight(input("hadamard_q", DType::bf16, {"D", "D"}, "query Hadamard matrix (opaque)")),
      as_weight(input("hadamard_k", DType::bf16, {"D", "D"}, "key Hadamard matrix (opaque)")),
      quant_from(inout("k_cache", DType::i8, {"block_num", "block_size", "1", "D"}, Contract::IntCode(1, 0.01),
                       "paged int8 key cache (PA_BSND), rows named by k_cache_index written"),
                 {"kh", "", "k_cache_index", false}),
      quant_from(inout("k_scale_cache", DType::fp16, {"block_num", "block_size", "1", "1"}, scale, "paged fp16 key scales"),
                 {"kh", "", "k_cache_index", true}),
      input("k_cache_index", DType::i64, {"t"}, "flat slot per token; < 0 = padding (skipped); last token wins"),
      quant_from(output("q_int8", DType::i8, {"t", "H", "D"}, Contract::IntCode(1, 0.01), "int8 query (TND)"), {"qh", "", "", false}),
      quant_from(output("q_scale", DType::fp16, {"t", "H", "1"}, scale, "query dequant scales"), {"qh", "", "", true}),
      output("weights", DType::fp16, {"t", "H"}, Contract::UlpOrBudget(1, 1, ""), "per-head weights fp16(f32(wb)·c)"),
  };
  d.knobs = {
      {"unroll", "largest token chunk of the unroll list [u, powers of 2 below u, 1] (0 = all tokens)", 32, true},
      {"head_chunk", "heads per q work item (0 = auto: 4096/D heads below 13 tokens, else 2)", 0, true},
      {"q_k_block", "K per pass of the int8 q GEMM (0 = engine default); integer sums: exact", 0, true},
      {"k_k_block", "K per fp32 summation block of x·wk (0 = one chain)", 0, false},
      {"w_k_block", "K per fp32 summation block of x·w_proj (0 = one chain)", 0, false},
      {"hd_k_block", "K per fp32 summation block of the Hadamard GEMMs (0 = one chain)", 0, false},
  };
  d.invariants = {
      {"q_row_has_127", "every nonzero q_int8 row holds a +-127 code", &q_rows},
      {"k_row_has_127", "every nonzero written k_cache row holds a +-127 code", &k_rows},
  };
  d.check_problem = &check_problem;
  d.check_inputs = &check_inputs;
  d.touched_rows = &touched;
  return d;
}

}  // namespace

const KernelDecl& indexer_prolog_decl() {
  static const KernelDecl d = make();
  return d;
}

}  // namespace kcs
