// RMSNorm (docs/kernels/rmsnorm.md), the two forms the kernels use:
//   pypto (K2 rms_norm):  ms = Σ_j ((x_j ⊗ x_j) ⊗ (1/n)),  r = 1 ⊘ sqrt(ms ⊕ eps),  y_j = γ_j ⊗ (x_j ⊗ r)
//                         x BF16, γ BF16, y BF16.
//   v4 (V4 compressor, official RMSNorm): var = mean(x²), y = w · (x · rsqrt(var + eps)),
//                         x BF16 widened to fp32, w FP32, y BF16.
// In exact arithmetic both are y_j = γ_j · x_j / sqrt(Σ x_k² / n + eps); they differ in γ's storage
// and in the binary32 operation order of an implementation. The reference evaluates that formula
// in binary64 and rounds once to BF16 (spec §10.1).
//
// Contract (kcs, derived here): max_ulp(1) on y. Let u = 2^-24. Any binary32 evaluation of either
// form, in ANY summation order, with correctly rounded +, ×, ⊘ and sqrt, has a first-order relative
// error of at most E = (n + 11)/2 · u:
//   ms:          the n non-negative terms summed in any order (n − 1)u, the f32(1/n) constant and
//                the per-term multiply 2u (v4: Σ then ⊘ n, nu)                        (n + 1)u
//   ms ⊕ eps:    f32(eps) and the add, relative to ms + eps                            (n + 2)u
//   sqrt halves that and rounds once; 1 ⊘, x ⊗ r and γ ⊗ round once each          + 4u
// Higher-order terms multiply E by at most 1 + (n + 11)u ≤ 1 + 2^-8 for n ≤ 65536.
// While the error is below the BF16 spacing just under |ŷ| (≥ 2^-8·|ŷ|), the interval between the
// binary32 result and the exact value ŷ holds at most one BF16 rounding boundary, so the two
// roundings differ by at most one unit: d_ulp ≤ 1 whenever (n + 11)/2 · u · (1 + 2^-8) < 2^-8,
// i.e. n < 130000; the declaration rejects rows longer than 65536. The binary64 reference is off
// the exact value by ~n·2^-53 relative, far inside that margin. Assumptions (out of contract
// otherwise): no binary32 overflow of x², and eps > 0, so that squares of tiny x that underflow
// binary32 (absolute error ≤ n·2^-150) are negligible against eps.
#pragma once

#include <cstdint>
#include <string>

namespace kcs {

struct Problem;

enum class RmsNormForm { pypto, v4 };

// Returns false (and leaves *out alone) for an unknown name.
bool parse_rmsnorm_form(const std::string& s, RmsNormForm* out);

// Longest row the declared contract is derived for (see above).
constexpr int64_t kNormMaxRow = 65536;

struct RmsNormParams {
  RmsNormForm form = RmsNormForm::pypto;
  double eps = 0;
};
// Throws kcs::Error on an unknown form.
RmsNormParams rmsnorm_params(const Problem& p);

}  // namespace kcs
