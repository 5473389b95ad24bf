// K2 MLA prolog dimensions, attributes and cache geometries (spec §4), parsed once for the
// declaration and both backends.
#include "kcs/kernels/mla_prolog.h"

#include "kcs/decl.h"

namespace kcs {

MlaPrologDims mla_prolog_dims(const Problem& p) {
  MlaPrologDims d;
  d.t = p.dim("t");
  d.h = p.dim("h");
  d.q_lora = p.dim("q_lora");
  d.n1 = p.dim("n1");
  d.nope = p.dim("nope");
  d.rope = p.dim("rope");
  d.kv_lora = p.dim("kv_lora");
  d.block_num = p.dim("block_num");
  d.block_size = p.dim("block_size");
  d.quant = p.dim("dq_n") > 0;
  d.eps_cq = p.attr_f64("eps_cq");
  d.eps_ckv = p.attr_f64("eps_ckv");
  parse_cache_layout(p.attr("cache_layout"), &d.layout);  // check_problem has validated it
  return d;
}

ScatterGeom mla_prolog_cache_geom(const MlaPrologDims& d, MlaCache which) {
  ScatterGeom g;
  g.block_num = d.block_num;
  g.block_size = d.block_size;
  g.layout = d.layout;
  switch (which) {
    case MlaCache::kv:
      g.D = d.kv_lora;
      g.elem_size = d.quant ? 1 : 2;
      break;
    case MlaCache::kr:
      g.D = d.rope;
      g.elem_size = 2;
      break;
    case MlaCache::k_scale:
      g.D = kMlaKvGroups;
      g.elem_size = 4;
      break;
  }
  return g;
}

}  // namespace kcs
