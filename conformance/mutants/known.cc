// Mutants the ci tier does not catch, with the reason (see mutants.h). Keep it short: every `open`
// entry is a gap in the fixtures or contracts, to be closed by a case that exercises the path.
#include "conformance/mutants/mutants.h"

namespace kcs {

const std::vector<KnownEscape>& known_escapes() {
  static const std::vector<KnownEscape> v = {
      // Equivalent: no input can change an output. Undetectable: an input can, but only by a difference
      // that a correct backend may also produce within the contract (the reason says how).
      {"*/cast:*q8.code_fp16=*", true,
       "the INT32 -> FP16 step of Q8 takes an integer code (|i| <= 128 within the contract), exact in FP16: every "
       "rounding mode gives the same value"},
      {"v4_indexer/cast:v4_indexer.logits/gemm_i8.acc_f32=*", EscapeKind::undetectable,
       "undetectable within the contract: |acc| <= Dh * 127^2 is exact in binary32 for Dh <= 1040 (the V4 shapes "
       "have Dh = 128); a larger Dh could round it, but one binary32 ulp (2^-24 relative) of a logit moves the "
       "score far less than its abs_rel rtol of 2^-7, and a correct backend's binary32 score epilogue, which the "
       "contract lets round at other points, changes the score by as much"},
      // Not equivalent in the strict sense: ms + eps can be a perfect square in the reference's binary64 (a
      // crafted row with ms = 0.25 - eps gives 1/sqrt = 2 exactly, and x * gamma * 2 a BF16 tie). But the kernels
      // compute ms, the square root and the product in binary32, where a correct backend lands on either side
      // of such a tie, all on the same side for one row: a tie case would fail correct backends on the
      // rounding-bias check, so no catalog case can tell ties away from a correct binary32 evaluation.
      {"*/cast:*rmsnorm.y_bf16=rhaz", EscapeKind::undetectable,
       "undetectable within the contract: an exact BF16 tie of x * gamma / sqrt(ms + eps) needs ms + eps to be a "
       "perfect square in binary64, and there a correct binary32 backend rounds every tie of the row the same way "
       "(its own rounding of ms and the square root decides), so a ties case cannot separate this mutant from a "
       "correct backend"},
      {"*/cast:*layernorm.y_bf16=rhaz", EscapeKind::undetectable,
       "undetectable within the contract, as rmsnorm.y_bf16: a tie needs var + eps to be a perfect square in "
       "binary64, where a correct binary32 backend's own rounding decides the side of every tie of the row"},
      // One binary32 ulp u of a kf element reaches K1's outputs only through the LayerNorm, as a shift of
      // mu by u/D and of that element's delta by u. A crafted row can make the spec's exact form of the
      // moments error-free (kf of two exact products, mu = 0 in every summation order) and then show the
      // shift on k_cache codes; but torch's binary32 layer_norm (examples/pytest_torch, a correct backend
      // that passes the ci tier) computes the moments another way and errs by 2^-16 relative on such a
      // row, flipping 15 of 192 codes where the mutant flips 46, so the case failed a correct backend.
      {"indexer_prolog/cast:indexer_prolog.k_proj/gemm_bf16.out_f32=*", EscapeKind::undetectable,
       "undetectable within the contract: one binary32 ulp u of kf moves LayerNorm's mean by u/D and one delta by "
       "u, and a correct binary32 LayerNorm errs by as much (torch's layer_norm on a crafted row with |kf| up to 1.5: "
       "2^-16 relative on the small elements, as a 2^-28 shift of the mean would, where the mutant shifts it by "
       "2^-29), so a row where the mutant flips a kb code lets a correct backend flip codes too"},
      {"compressor/cast:compressor.norm_bf16=rhaz", EscapeKind::undetectable,
       "undetectable within the contract, as rmsnorm.y_bf16 (the compressor's RMSNorm): a correct binary32 backend's "
       "own rounding of ms and the square root decides the side of every tie of the row"},
      {"compressor/cast:compressor.pooled_f32=*", EscapeKind::equivalent,
       "the epilogues read the binary64 pooled value (spec §10.1); its binary32 store only fills the stage tensor "
       "`pooled` (conformance/stages), which no output reads"},
      {"rmsnorm/attr:form=*", true,
       "form only selects gamma's storage, which validation ties to gamma_dtype: a backend cannot ignore it"},
      {"rope/attr:table=*", true,
       "table (full / half) only says how the caller laid out the same angles; the declaration's shapes differ, so "
       "ignoring it is rejected, not miscomputed"},
      {"indexer_prolog/attr:layout_*", true, "a single layout is defined (TND / PA_BSND)"},
      {"compressor/attr:has_external_prev=*", true,
       "has_external_prev decides whether prev_b exists (its shape MP): ignoring it is rejected by validation"},

      // Open: real escapes (none today; a new one names the case or contract it needs).
  };
  return v;
}

const KnownEscape* find_known_escape(const std::string& key) {
  for (const auto& k : known_escapes())
    if (glob_match(k.glob, key)) return &k;
  return nullptr;
}

}  // namespace kcs
