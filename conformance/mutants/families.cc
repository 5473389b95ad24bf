// Hand-written mutant families the enumeration of cast points and attributes cannot reach, and
// the controls (variations the spec allows) per kernel.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "conformance/mutants/cases.h"
#include "conformance/mutants/mutants.h"
#include "kcs/formats.h"
#include "kcs/kernels/q8.h"
#include "kcs/kernels/v4_indexer.h"

namespace kcs {

namespace {

using Change = std::function<void(Problem&, TensorMap&)>;

Mutant with_inputs(const std::string& kernel, const std::string& name, const std::string& what, Change change) {
  Mutant m;
  m.kernel = kernel;
  m.family = "hand";
  m.name = "hand:" + name;
  m.what = what;
  m.run = [change](const FaultCall& fc) { return fc.run_reference_with(change); };
  return m;
}

Mutant with_outputs(const std::string& kernel, const std::string& name, const std::string& what,
                    std::function<void(const FaultCall&)> post, bool control = false) {
  Mutant m;
  m.kernel = kernel;
  m.family = control ? "control" : "hand";
  m.control = control;
  m.name = (control ? "control:" : "hand:") + name;
  m.what = what;
  m.run = [post](const FaultCall& fc) {
    Status s = fc.run_reference();
    if (s) post(fc);
    return s;
  };
  return m;
}

// K3 controls: the score summed over the heads in binary32 in another order (the spec fixes no
// order), from the reference's own logits and weights. `regroup`: Σ relu(lg)·wx, then one ⊗ WS.
Mutant v4_score_order(const std::string& name, const std::string& what, int order, bool regroup = false) {
  return with_outputs("v4_indexer", name, what, [order, regroup](const FaultCall& fc) {
    const Problem& p = *fc.inv.problem;
    const int64_t T = p.dim("B") * p.dim("S"), H = p.dim("H"), L = p.dim("SCORE_LEN");
    const int64_t cl = std::min(v4_indexer_cache_len(p.attr_i64("start_pos"), p.dim("S")), L);
    const TensorMap& im = fc.bundle.intermediates;
    if (cl == 0 || !im.count("weights") || !im.count("wx")) return;
    const float ws = v4_indexer_weights_scale(p.dim("Dh"), H);
    float* score = fc.out("score").data<float>();
    std::vector<float> term(static_cast<size_t>(H));
    for (int64_t t = 0; t < T; ++t) {
      const float* lg = im.at("logits.t" + std::to_string(t)).data<float>();
      const float* w = (regroup ? im.at("wx") : im.at("weights")).data<float>() + t * H;
      for (int64_t j = 0; j < cl; ++j) {
        for (int64_t h = 0; h < H; ++h) {
          const float l = lg[j * H + h];
          term[static_cast<size_t>(h)] = std::max(l, l * 0.0f) * w[h];
        }
        float sum = 0;
        if (order == 0) {  // reversed
          for (int64_t h = H - 1; h >= 0; --h) sum += term[static_cast<size_t>(h)];
        } else {  // pairwise, in place: level by level, an odd last term carried up
          for (int64_t n = H; n > 1;) {
            const int64_t m = n / 2;
            for (int64_t h = 0; h < m; ++h)
              term[static_cast<size_t>(h)] = term[static_cast<size_t>(2 * h)] + term[static_cast<size_t>(2 * h + 1)];
            if (n % 2) term[static_cast<size_t>(m)] = term[static_cast<size_t>(n - 1)];
            n = m + n % 2;
          }
          sum = H > 0 ? term[0] : 0.0f;
        }
        score[t * L + j] = regroup ? sum * ws : sum;
      }
    }
  }, true);
}

// A square [.., D, D] matrix read transposed (a column-major weight taken as row-major).
Change transpose(const std::string& name) {
  return [name](Problem&, TensorMap& t) {
    Tensor& m = t.at(name);
    const int64_t d = m.row_len();
    if (d == 0) return;
    auto* p = m.data<uint16_t>();
    for (int64_t b = 0; b < m.numel() / (d * d); ++b)
      for (int64_t i = 0; i < d; ++i)
        for (int64_t j = i + 1; j < d; ++j) std::swap(p[b * d * d + i * d + j], p[b * d * d + j * d + i]);
  };
}

void flip_sign(Tensor& t, int64_t i) {
  switch (dtype_size(t.dtype())) {
    case 2: t.data<uint16_t>()[i] ^= 0x8000u; break;
    case 4: t.data<uint32_t>()[i] ^= 0x80000000u; break;
    default: break;
  }
}

// The sine of the first half of every table row negated: one half rotates the wrong way.
Change sin_half_flipped(const std::string& name) {
  return [name](Problem&, TensorMap& t) {
    Tensor& s = t.at(name);
    const int64_t w = s.row_len();
    for (int64_t r = 0; r < s.rows(); ++r)
      for (int64_t j = 0; j < w / 2; ++j) flip_sign(s, r * w + j);
  };
}

// Token t uses the table row of token t + 1 (position off by one; the last token keeps its own).
Change rows_shifted(std::vector<std::string> names) {
  return [names](Problem&, TensorMap& t) {
    for (const auto& name : names) {
      Tensor& s = t.at(name);
      const size_t row = static_cast<size_t>(s.row_len()) * dtype_size(s.dtype());
      auto* p = static_cast<uint8_t*>(s.raw());
      for (int64_t r = 0; r + 1 < s.rows(); ++r) std::memmove(p + r * row, p + (r + 1) * row, row);
    }
  };
}

Change zeroed(const std::string& name) {
  return [name](Problem&, TensorMap& t) {
    Tensor& s = t.at(name);
    std::memset(s.raw(), 0, s.nbytes());
  };
}

// Slot-index bugs of a paged scatter: negative indices wrapped (Python-style) instead of skipped,
// the first of duplicate tokens winning instead of the last, the last token dropped.
Change index_wrapped(const std::string& name, std::vector<std::string> slot_dims) {
  return [name, slot_dims](Problem& p, TensorMap& t) {
    int64_t slots = 1;
    for (const auto& d : slot_dims) slots *= p.dim(d);
    Tensor& ix = t.at(name);
    for (int64_t i = 0; i < ix.numel(); ++i) {
      int64_t& v = ix.data<int64_t>()[i];
      if (v < 0 && v >= -slots) v += slots;
    }
  };
}
Change index_first_wins(const std::string& name) {
  return [name](Problem&, TensorMap& t) {
    Tensor& ix = t.at(name);
    auto* v = ix.data<int64_t>();
    for (int64_t i = 0; i < ix.numel(); ++i)
      for (int64_t j = 0; j < i; ++j)
        if (v[j] >= 0 && v[j] == v[i]) {
          v[i] = -1;
          break;
        }
  };
}
Change index_last_dropped(const std::string& name) {
  return [name](Problem&, TensorMap& t) {
    Tensor& ix = t.at(name);
    if (ix.numel() > 0) ix.data<int64_t>()[ix.numel() - 1] = -1;
  };
}

void add_scatter_family(std::vector<Mutant>& v, const std::string& k, const std::string& index) {
  v.push_back(with_inputs(k, "negative_index_wrapped", "negative slot indices wrapped to the end instead of skipped",
                          index_wrapped(index, {"block_num", "block_size"})));
  v.push_back(with_inputs(k, "duplicates_first_wins", "duplicate slot indices: the first token wins instead of the last",
                          index_first_wins(index)));
  v.push_back(with_inputs(k, "last_token_dropped", "the last token of the batch is not scattered",
                          index_last_dropped(index)));
}

// rmsnorm with eps added outside the square root: gamma x / (sqrt(ms) + eps).
Status rmsnorm_eps_outside(const FaultCall& fc) {
  const Tensor& x = fc.inv.in("x");
  const Tensor& g = fc.inv.in("gamma");
  Tensor& y = fc.out("y");
  const double eps = fc.inv.problem->attr_f64("eps");
  const int64_t n = x.row_len();
  for (int64_t r = 0; r < x.rows(); ++r) {
    double ss = 0;
    for (int64_t j = 0; j < n; ++j) {
      const double v = bf16_to_float(x.data<uint16_t>()[r * n + j]);
      ss += v * v;
    }
    const double d = std::sqrt(ss / static_cast<double>(n)) + eps;
    for (int64_t j = 0; j < n; ++j) {
      const double gj = g.dtype() == DType::bf16 ? bf16_to_float(g.data<uint16_t>()[j]) : g.data<float>()[j];
      y.data<uint16_t>()[r * n + j] = bf16_from_double(gj * (bf16_to_float(x.data<uint16_t>()[r * n + j]) / d));
    }
  }
  return Status::Ok();
}

// Control: rmsnorm in binary32 with the squares summed backwards, then one correct BF16 rounding.
// Another summation order within max_ulp(1): it must pass, bias check included.
Status rmsnorm_fp32_reversed(const FaultCall& fc) {
  const Tensor& x = fc.inv.in("x");
  const Tensor& g = fc.inv.in("gamma");
  Tensor& y = fc.out("y");
  const float eps = static_cast<float>(fc.inv.problem->attr_f64("eps"));
  const int64_t n = x.row_len();
  for (int64_t r = 0; r < x.rows(); ++r) {
    float ss = 0;
    for (int64_t j = n; j-- > 0;) {
      const float v = bf16_to_float(x.data<uint16_t>()[r * n + j]);
      ss += v * v;
    }
    const float rs = 1.0f / std::sqrt(ss / static_cast<float>(n) + eps);
    for (int64_t j = 0; j < n; ++j) {
      const float gj = g.dtype() == DType::bf16 ? bf16_to_float(g.data<uint16_t>()[j]) : g.data<float>()[j];
      y.data<uint16_t>()[r * n + j] = bf16_from_float(gj * (bf16_to_float(x.data<uint16_t>()[r * n + j]) * rs));
    }
  }
  return Status::Ok();
}

// q8 scale as amax / 127 instead of the kernels' 1 / (127 / amax) (differs by an ulp for some amax).
void q8_scale_divided(const FaultCall& fc) {
  const Tensor& x = fc.inv.in("x");
  Tensor& scale = fc.out("scale");
  const bool floor = fc.inv.problem->attr("amax_floor") == "1e-4";
  const int64_t n = x.row_len();
  std::vector<float> row(static_cast<size_t>(n));
  for (int64_t r = 0; r < x.rows(); ++r) {
    for (int64_t j = 0; j < n; ++j)
      row[static_cast<size_t>(j)] =
          x.dtype() == DType::bf16 ? bf16_to_float(x.data<uint16_t>()[r * n + j]) : x.data<float>()[r * n + j];
    float a = q8_amax(row.data(), n);
    if (floor && !(a >= kQ8Floor)) a = kQ8Floor;
    const float s = a / 127.0f;
    if (scale.dtype() == DType::fp16)
      scale.data<uint16_t>()[r] = fp16_from_float(s);
    else
      scale.data<float>()[r] = s;
  }
}

// Packed FP4 with the nibble order swapped (odd element in the low nibble).
void nibbles_swapped(const FaultCall& fc, const std::string& name) {
  Tensor& t = fc.out(name);
  auto* p = t.data<uint8_t>();
  for (size_t i = 0; i < t.nbytes(); ++i) p[i] = static_cast<uint8_t>((p[i] << 4) | (p[i] >> 4));
}

// Control: the optimized backend with another legal tile configuration (the catalog's last).
Mutant optimized_tiling(const std::string& kernel) {
  Mutant m;
  m.kernel = kernel;
  m.family = "control";
  m.control = true;
  m.name = "control:optimized_last_tile";
  m.what = "the optimized backend with the catalog's last tile configuration (another legal tiling and order)";
  m.run = [kernel](const FaultCall& fc) {
    static std::unique_ptr<Backend> opt;
    if (!opt)
      for (auto& b : builtin_backends())
        if (b->name() == "optimized") opt = std::move(b);
    if (!opt) return Status::Fail("no optimized backend");
    Invocation alt = fc.inv;
    alt.tile = mutants::last_tile(kernel);
    return opt->run(alt);
  };
  return m;
}

}  // namespace

std::vector<Mutant> hand_mutants(const std::string& k) {
  std::vector<Mutant> v;
  if (k == "rmsnorm") {
    Mutant m;
    m.kernel = k, m.family = "hand", m.name = "hand:eps_outside_sqrt", m.what = "y = gamma x / (sqrt(ms) + eps)";
    m.run = &rmsnorm_eps_outside;
    v.push_back(m);
    Mutant c;
    c.kernel = k, c.family = "control", c.control = true, c.name = "control:fp32_reversed_sum";
    c.what = "binary32 evaluation, squares summed backwards, one correct BF16 rounding";
    c.run = &rmsnorm_fp32_reversed;
    v.push_back(c);
  } else if (k == "q8") {
    v.push_back(with_outputs(k, "scale_amax_div_127", "scale = amax / 127 instead of 1 / (127 / amax)", &q8_scale_divided));
  } else if (k == "rope") {
    v.push_back(with_inputs(k, "sin_half_flipped", "the sine of one half of each table row has the wrong sign",
                            sin_half_flipped("sin")));
    v.push_back(with_inputs(k, "position_off_by_one", "token t rotated by the angles of position t + 1",
                            rows_shifted({"cos", "sin"})));
  } else if (k == "scatter") {
    add_scatter_family(v, k, "index");
  } else if (k == "hadamard") {
    v.push_back(with_inputs(k, "transposed_matrix", "the Hadamard matrix read transposed", transpose("hadamard")));
  } else if (k == "indexer_prolog") {
    v.push_back(with_inputs(k, "transposed_hadamard_q", "hadamard_q read transposed", transpose("hadamard_q")));
    v.push_back(with_inputs(k, "transposed_hadamard_k", "hadamard_k read transposed", transpose("hadamard_k")));
    v.push_back(with_inputs(k, "sin_half_flipped", "the sine of one half has the wrong sign", sin_half_flipped("sin")));
    v.push_back(with_inputs(k, "position_off_by_one", "token t rotated by the angles of token t + 1",
                            rows_shifted({"cos", "sin"})));
    add_scatter_family(v, k, "k_cache_index");
  } else if (k == "mla_prolog") {
    v.push_back(with_inputs(k, "sin_half_flipped", "the sine of one half has the wrong sign", sin_half_flipped("sin")));
    v.push_back(with_inputs(k, "position_off_by_one", "token t rotated by the angles of token t + 1",
                            rows_shifted({"cos", "sin"})));
    add_scatter_family(v, k, "cache_index");
  } else if (k == "v4_indexer") {
    v.push_back(with_inputs(k, "transposed_hadamard", "the Hadamard matrix read transposed", transpose("hadamard")));
    v.push_back(with_inputs(k, "sin_half_flipped", "the sine of one half has the wrong sign", sin_half_flipped("sin")));
    v.push_back(with_outputs(k, "topk_without_tail", "top-k rows shorter than TOPK padded with index 0 instead of -1",
                             [](const FaultCall& fc) {
                               Tensor& t = fc.out("topk_idxs");
                               for (int64_t i = 0; i < t.numel(); ++i)
                                 if (t.data<int32_t>()[i] == -1) t.data<int32_t>()[i] = 0;
                             }));
    v.push_back(with_outputs(k, "topk_reversed", "the chosen top-k entries of each row in reverse order",
                             [](const FaultCall& fc) {
                               Tensor& t = fc.out("topk_idxs");
                               const int64_t L = t.row_len();
                               for (int64_t r = 0; r < t.rows(); ++r) {
                                 int32_t* row = t.data<int32_t>() + r * L;
                                 int64_t kk = 0;
                                 while (kk < L && row[kk] != -1) ++kk;
                                 std::reverse(row, row + kk);
                               }
                             },
                             true));
    v.push_back(v4_score_order("score_heads_reversed", "the score summed over the heads in binary32, last head first", 0));
    v.push_back(v4_score_order("score_heads_pairwise", "the score summed over the heads in binary32, pairwise", 1));
    v.push_back(v4_score_order("score_regrouped", "the score as (sum of relu(lg)·wx in binary32, pairwise) ⊗ WS", 1, true));
  } else if (k == "compressor") {
    v.push_back(with_inputs(k, "ape_dropped", "the ape term left out of the pooling logits", zeroed("ape")));
    v.push_back(with_inputs(k, "ape_indexer_dropped", "the indexer's ape term left out of its logits",
                            zeroed("ape_indexer")));
    v.push_back(with_inputs(k, "transposed_hadamard", "the indexer Hadamard read transposed", transpose("hadamard")));
  } else if (k == "nvfp4_quant") {
    v.push_back(with_outputs(k, "nibbles_swapped", "odd element in the low nibble",
                             [](const FaultCall& fc) { nibbles_swapped(fc, "x_fp4"); }));
  } else if (k == "nvfp4_stage") {
    v.push_back(with_outputs(k, "nibbles_swapped", "odd element in the low nibble",
                             [](const FaultCall& fc) { nibbles_swapped(fc, "x_fp4"); }));
  }
  v.push_back(optimized_tiling(k));
  return v;
}

}  // namespace kcs
