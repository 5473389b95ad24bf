// K2 MLA prolog dimensions, attributes and cache geometries (spec §4), parsed once for the
// declaration and both backends.
#include "kcs/kernels/mla_prolog.h"

#include "decl/params/dims.h"
#include "kcs/decl.h"

namespace kcs {

void mla_prolog_read_dims(const Problem& p, int64_t (&v)[kMlaDims]) {
  // Every dimension of the declaration (decl/mla_prolog.cc), in MlaDim order.
  static const DimReader reader({"t", "h", "q_lora", "n1", "nope", "rope", "kv_lora", "nq", "nkv", "dq_n", "qs",
                                 "block_num", "block_size"});
  reader.read(p, v);
}

MlaPrologDims mla_prolog_dims(const Problem& p) {
  int64_t v[kMlaDims];
  mla_prolog_read_dims(p, v);
  return mla_prolog_dims(p, v);
}

MlaPrologDims mla_prolog_dims(const Problem& p, const int64_t (&v)[kMlaDims]) {
  MlaPrologDims d;
  d.t = v[kMlaT];
  d.h = v[kMlaH];
  d.q_lora = v[kMlaQLora];
  d.n1 = v[kMlaN1];
  d.nope = v[kMlaNope];
  d.rope = v[kMlaRope];
  d.kv_lora = v[kMlaKvLora];
  d.block_num = v[kMlaBlockNum];
  d.block_size = v[kMlaBlockSize];
  d.quant = v[kMlaDqN] > 0;
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
