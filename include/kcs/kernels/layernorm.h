// LayerNorm, K1 form (docs/kernels/layernorm.md). On an FP32 row x of length n (K1 feeds
// the fp32 GEMM output kf, n = head_dim = 128):
//   μ = Σ_j (x_j ⊗ (1/n)),  δ_j = x_j ⊖ μ,  σ² = Σ_j ((δ_j ⊗ δ_j) ⊗ (1/n)),  den = sqrt(σ² ⊕ eps),
//   z_j = δ_j ⊘ den (a true division),  out_j = z_j ⊗ γ_j ⊕ β_j,  y_j = bf16(out_j);
// γ and β are BF16 widened to FP32. The reference evaluates the exact formula in binary64 and
// rounds once to BF16 (docs/kernels/layernorm.md).
//
// Contract (kcs, derived here): ulp_or_budget(1, 2.0625): d_ulp(y, ref) ≤ 1, or
// |y − pre| ≤ ½ulp_bf16(pre) + 2.0625 · 2^-24 · B_j, where pre is the binary64 value before the cast
// and B_j the budget below. max_ulp(1) alone is not provable: out = zγ + β can cancel (|out| ≪ |zγ|,
// |β|), and the mean's rounding error is absolute (it scales with Σ|x|/n, not with δ_j), so an
// exact binary32 evaluation can be many BF16 units off a small output.
//
// Derivation (u = 2^-24, any summation order, correctly rounded binary32 +, ×, ⊘, sqrt; exact
// values μ, δ_j, σ², den, z_j = δ_j/den, o_j = z_j·γ_j + β_j; M1 = Σ|x_k|/n; e = μ̃ − μ, ρ = |e|/den):
//   1. |e| ≤ (n + 1)u·M1: n terms of abs-sum M1 summed in any order (n − 1)u, plus f32(1/n) and the
//      per-term multiply 2u (Σ then ⊘ n: nu).
//   2. δ̃_j = (δ_j − e)(1 + ε_j). Because Σδ_k = 0, Σ(δ_k − e)²/n = σ² + e², so the computed
//      σ̃² = (σ² + e²)(1 + θ) with |θ| ≤ (n + 4)u (sum (n − 1)u, square / constant / multiply 3u, the
//      two ε's 2u); adding f32(eps) and rounding: relative (n + 5)u to σ² + e² + eps.
//   3. den̄ = den·sqrt(1 + ρ²)·(1 + (n + 7)u/2) (sqrt halves the error and rounds once).
//   4. z̃_j − z_j = z_j(1/sqrt(1 + ρ²) − 1) − (e/den)/sqrt(1 + ρ²) + rounding; the first two terms
//      are at most (1 + |z_j|)ρ, the rounding (n + 11)/2 · u · (|z_j| + ρ) (den̄, δ̃ and ⊘).
//   5. ⊗γ and ⊕β round once each: u|γ_j z_j| + u|o_j|.
// First-order bound of |binary32 result − o_j|, in units of u, recorded as the budget:
//   B_j = (n + 1)(1 + |z_j|)|γ_j|·M1/den + (n + 13)/2 · |γ_j z_j| + |o_j|.
// Higher-order terms (γ_k = ku/(1 − ku) factors, the ρ·(n + 11)u/2 cross term) multiply it by at
// most 1 + 2^-6 for n ≤ 65536 (rejected above that). The final BF16 rounding of a binary32 value s
// gives |y − pre| ≤ ½ulp(pre) + 2|s − pre| (the factor 2 covers s rounding across a binade boundary
// away from pre), hence c = 2 · (1 + 2^-5) = 2.0625, which also absorbs the binary64 reference's own
// ~n·2^-53 error. Assumptions: no binary32 overflow (|x| < 1.8e19) or underflow of δ² that is not
// negligible against eps > 0.
#pragma once

#include <cstdint>

namespace kcs {

}  // namespace kcs
