// K3 V4 indexer canaries: scores (abs_rel with its hard part + the NEG_FILL invariant) and the
// top-k set contract, which must catch a chosen index swapped for a clearly worse one and a
// duplicated index. The score's ratio part lets one element in 200 exceed tol, so one element far
// off is caught by the hard part alone; -inf for NEG_FILL (outside the valid region) by the invariant.
#include <cfloat>
#include <cmath>
#include <cstdint>

#include "conformance/canaries/faults.h"

namespace kcs {

std::vector<Canary> v4_indexer_canaries() {
  using namespace canary;
  const std::string cs = "v4_indexer.s8.*start_pos=147";  // cache_len 37 > TOPK 16: unchosen positions exist
  std::vector<Canary> v;
  v.push_back(nan_in("score", cs));
  v.push_back(one_beyond_hard("score", cs));

  v.push_back({"neg_fill_as_minus_inf", "-inf instead of NEG_FILL (-FLT_MAX) beyond cache_len", cs, "",
               {"invariant:score_neg_fill"}, [](const FaultCall& fc) {
                 Status s = fc.run_reference();
                 if (!s) return s;
                 Tensor& sc = fc.out("score");
                 float* p = sc.data<float>();
                 for (int64_t i = sc.numel() - 1; i >= 0; --i)
                   if (p[i] == -FLT_MAX) {
                     p[i] = -INFINITY;
                     return s;
                   }
                 return Status::Fail("canary: no NEG_FILL element");
               }});

  v.push_back({"worse_index_swapped_in", "the best chosen index replaced by the worst unchosen valid position", cs, "",
               {"topk_idxs"}, [](const FaultCall& fc) {
                 Status s = fc.run_reference();
                 if (!s) return s;
                 const Tensor& ref = fc.bundle.outputs.at("score");
                 Tensor& ti = fc.out("topk_idxs");
                 const int64_t n = ref.row_len(), offset = fc.inv.problem->attr_i64("offset");
                 int32_t* idx = ti.data<int32_t>();
                 int64_t worst = -1;
                 for (int64_t j = 0; j < n; ++j) {
                   const float x = ref.data<float>()[j];
                   if (x == -FLT_MAX) continue;
                   bool chosen = false;
                   for (int64_t k = 0; k < ti.row_len() && idx[k] >= 0; ++k) chosen |= idx[k] - offset == j;
                   if (!chosen && (worst < 0 || x < ref.data<float>()[worst])) worst = j;
                 }
                 if (worst < 0) return Status::Fail("canary: every valid position is chosen");
                 idx[0] = static_cast<int32_t>(worst + offset);
                 return s;
               }});

  v.push_back({"duplicated_index", "one chosen index written twice", cs, "", {"topk_idxs"}, [](const FaultCall& fc) {
                 Status s = fc.run_reference();
                 if (s) fc.out("topk_idxs").data<int32_t>()[1] = fc.out("topk_idxs").data<int32_t>()[0];
                 return s;
               }});
  return v;
}

}  // namespace kcs
