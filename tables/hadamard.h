// Sylvester Hadamard matrices, shared by the fixture generators, tests and benches (not a backend).
// Hadamard (docs/kernels/hadamard.md) in the dense-matrix form the kernels use: y = bf16(x · M)
// with x [T, D] BF16, M [D, D] BF16 an opaque input and an fp32-accumulating GEMM (spec §0.3),
// i.e. gemm_bf16 with B = 1, K = N = D and BF16 output (same reference, same contract, same engine).
// Realistic matrices are the normalised Sylvester matrix cast to BF16, bf16(H_d/√d); the
// builders below make them (natural order, as scipy.linalg.hadamard and fast_hadamard_transform).
#pragma once

#include <cstdint>
#include <vector>

namespace kcs {

// H_1 = [1], H_2n = [[H_n, H_n], [H_n, −H_n]]: entry (i, j) = (−1)^popcount(i & j). d must be a
// power of two >= 1 (throws kcs::Error otherwise). Row-major d x d.
std::vector<int8_t> sylvester_hadamard(int64_t d);
// Ĥ = H_d / √d in binary64 (symmetric and orthogonal up to the rounding of 1/√d).
std::vector<double> sylvester_hadamard_normalized(int64_t d);
// bf16(Ĥ), each entry rounded once from binary64 (nearest even). For d = 128: ±0x3DB5.
std::vector<uint16_t> sylvester_hadamard_bf16(int64_t d);

}  // namespace kcs
