// Declaration of the paged KV-cache scatter_update (spec §1.6) as a stand-alone kernel.
#include <string>
#include <vector>

#include "decl/kernels.h"
#include "kcs/kernels/scatter.h"

namespace kcs {

Status scatter_check_geom(const ScatterGeom& g) {
  if (g.elem_size != 1 && g.elem_size != 2 && g.elem_size != 4)
    return Status::Fail("cache element size " + std::to_string(g.elem_size) + " is not 1, 2 or 4 bytes");
  if (g.layout == CacheLayout::pa_nz && g.D % g.c0() != 0)
    return Status::Fail("dimension D = " + std::to_string(g.D) + " is not a multiple of C0 = 32 bytes / " +
                        std::to_string(g.elem_size) + " = " + std::to_string(g.c0()) +
                        ", which the PA_NZ cache layout needs (docs/kernels/scatter.md)");
  return Status::Ok();
}

Status scatter_check_indices(const ScatterGeom& g, const int64_t* index, int64_t T, const std::string& cache_name) {
  const int64_t cap = g.capacity();
  for (int64_t i = 0; i < T; ++i) {
    if (index[i] >= cap)
      return Status::Fail("index[" + std::to_string(i) + "] = " + std::to_string(index[i]) + " is out of range: " +
                          cache_name + " holds block_num * block_size = " + std::to_string(g.block_num) + " * " +
                          std::to_string(g.block_size) + " = " + std::to_string(cap) +
                          " rows (docs/kernels/scatter.md: the whole call is rejected, nothing written)");
  }
  return Status::Ok();
}

std::vector<uint8_t> scatter_touched_rows(const ScatterGeom& g, const int64_t* index, int64_t T) {
  std::vector<uint8_t> rows(static_cast<size_t>(g.capacity()), 0);
  const int64_t cap = g.capacity();
  for (int64_t i = 0; i < T; ++i) {
    const int64_t idx = index[i];
    if (idx < 0 || idx >= cap) continue;
    if (g.layout == CacheLayout::pa_bsnd) {
      rows[static_cast<size_t>(idx)] = 1;
      continue;
    }
    // PA_NZ: fractal row (d1, slot) of block blk sits at element blk*bs*D + (d1*bs + slot)*C0,
    // which lies in declared row blk*bs + (d1*bs + slot)*C0 / D.
    const int64_t blk = idx / g.block_size, slot = idx % g.block_size, c0 = g.c0();
    for (int64_t d1 = 0; d1 < g.D / c0; ++d1)
      rows[static_cast<size_t>(blk * g.block_size + (d1 * g.block_size + slot) * c0 / g.D)] = 1;
  }
  return rows;
}

namespace {

Status check_problem(const Problem& p) { return scatter_check_geom(scatter_geom(p)); }

Status check_inputs(const Problem& p, const TensorMap& t) {
  const Tensor& index = t.at("index");
  return scatter_check_indices(scatter_geom(p), index.data<int64_t>(), index.numel(), "cache");
}

std::vector<uint8_t> touched(const Problem& p, const TensorMap& t, const std::string& name) {
  if (name != "cache") throw Error("scatter has no in-out tensor '" + name + "'");
  const Tensor& index = t.at("index");
  return scatter_touched_rows(scatter_geom(p), index.data<int64_t>(), index.numel());
}

KernelDecl make() {
  KernelDecl d;
  d.id = "scatter";
  d.title = "paged KV-cache scatter_update (last token wins, negative index skipped)";
  d.spec = "docs/kernels/scatter.md";
  d.dims = {
      {"T", "tokens (rows of src)", 0},
      {"block_num", "cache blocks", 1},
      {"block_size", "slots per block", 1},
      {"D", "elements per cache row (N_kv = 1)", 1},
  };
  d.attrs = {
      {"dtype", AttrDecl::Kind::choice, "bfloat16", {"int8", "bfloat16", "float16", "float32"},
       "cache and src element type (K1 k_cache int8, k_scale fp16; K2 caches bf16/int8, k_scale fp32)"},
      {"cache_layout", AttrDecl::Kind::choice, "PA_BSND", {"PA_BSND", "PA_NZ"},
       "PA_BSND row-major; PA_NZ fractal [block_num, D/C0, block_size, C0] stored in the same tensor"},
  };
  d.tensors = {
      dtype_from(inout("cache", DType::bf16, {"block_num", "block_size", "1", "D"}, Contract::Exact(),
                       "paged cache, updated in place (PA_NZ: same element count, fractal byte order)"),
                 "dtype"),
      dtype_from(input("src", DType::bf16, {"T", "D"}, "row written for each token"), "dtype"),
      input("index", DType::i64, {"T"}, "flat slot index blk*block_size+slot; < 0 = padding (skipped)"),
  };
  d.knobs = {{"token_tile", "tokens per work item (0 = all tokens in one item)", 64, true}};
  d.check_problem = &check_problem;
  d.check_inputs = &check_inputs;
  d.touched_rows = &touched;
  return d;
}

}  // namespace

const KernelDecl& scatter_decl() {
  static const KernelDecl d = make();
  return d;
}

}  // namespace kcs
