// K2 MLA prolog dimensions, attributes and cache geometries (spec §4), parsed once for the
// declaration and both backends.
#include "kcs/kernels/mla_prolog.h"

#include "kcs/decl.h"

namespace kcs {

MlaPrologDims mla_prolog_dims(const Problem& p) {
  // Every dimension of the declaration (decl/mla_prolog.cc): one walk of the problem's map.
  static const DimReader reader({"t", "h", "q_lora", "n1", "nope", "rope", "kv_lora", "nq", "nkv", "dq_n", "qs",
                                 "block_num", "block_size"});
  int64_t v[13];
  reader.read(p, v);
  MlaPrologDims d;
  d.t = v[0];
  d.h = v[1];
  d.q_lora = v[2];
  d.n1 = v[3];
  d.nope = v[4];
  d.rope = v[5];
  d.kv_lora = v[6];
  d.block_num = v[11];
  d.block_size = v[12];
  d.quant = v[9] > 0;
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
