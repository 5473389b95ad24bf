// Properties of the Sylvester Hadamard builders (spec §1.5): H·H = n·I exactly, symmetry,
// natural order, norm preservation of the normalised matrix, and bf16(1/√128) = 0x3DB5.
#include <gtest/gtest.h>

#include <cmath>
#include <algorithm>
#include <cstdint>
#include <vector>

#include "kcs/formats.h"
#include "tables/hadamard.h"
#include "kcs/status.h"

namespace {

constexpr int64_t kSizes[] = {1, 2, 4, 8, 64, 128, 256};

TEST(Hadamard, SquareIsNTimesIdentity) {
  for (int64_t n : kSizes) {
    const std::vector<int8_t> h = kcs::sylvester_hadamard(n);
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < n; ++j) {
        int64_t s = 0;  // integer arithmetic: exact
        for (int64_t k = 0; k < n; ++k) s += int64_t{h[i * n + k]} * h[k * n + j];
        ASSERT_EQ(s, i == j ? n : 0) << "H_" << n << " (H·H)[" << i << ", " << j << "]";
      }
  }
}

TEST(Hadamard, SymmetricNaturalOrder) {
  for (int64_t n : kSizes) {
    const std::vector<int8_t> h = kcs::sylvester_hadamard(n);
    const int64_t half = n / 2;
    const std::vector<int8_t> hh = kcs::sylvester_hadamard(std::max<int64_t>(half, 1));
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < n; ++j) {
        ASSERT_EQ(h[i * n + j], h[j * n + i]) << "H_" << n << " not symmetric at " << i << ", " << j;
        // Sylvester's recursion, one level: blocks [[H, H], [H, -H]] of H_{n/2}.
        if (n > 1) {
          const int sign = (i >= half && j >= half) ? -1 : 1;
          ASSERT_EQ(h[i * n + j], sign * hh[(i % half) * half + (j % half)]) << "H_" << n << " at " << i << ", " << j;
        }
      }
    // Natural order: row 0 and column 0 are all +1, row 1 alternates (scipy.linalg.hadamard).
    for (int64_t j = 0; j < n; ++j) {
      EXPECT_EQ(h[j], 1);
      if (n > 1) {
        EXPECT_EQ(h[n + j], (j % 2) ? -1 : 1);
      }
    }
  }
}

TEST(Hadamard, NormalizedPreservesNorm) {
  for (int64_t n : kSizes) {
    const std::vector<double> h = kcs::sylvester_hadamard_normalized(n);
    std::vector<double> x(static_cast<size_t>(n));
    for (int64_t k = 0; k < n; ++k) x[static_cast<size_t>(k)] = std::sin(0.7 * static_cast<double>(k) + 0.3) * (k + 1);
    double nx = 0, ny = 0;
    for (int64_t j = 0; j < n; ++j) {
      double y = 0;
      for (int64_t k = 0; k < n; ++k) y += x[static_cast<size_t>(k)] * h[static_cast<size_t>(k * n + j)];
      ny += y * y;
      nx += x[static_cast<size_t>(j)] * x[static_cast<size_t>(j)];
    }
    EXPECT_NEAR(std::sqrt(ny), std::sqrt(nx), 1e-13 * std::sqrt(nx) * static_cast<double>(n)) << "n = " << n;
    // Orthogonal: Ĥ·Ĥ = I up to the rounding of 1/√n.
    for (int64_t i = 0; i < n; i += std::max<int64_t>(1, n / 8))
      for (int64_t j = 0; j < n; ++j) {
        double s = 0;
        for (int64_t k = 0; k < n; ++k) s += h[static_cast<size_t>(i * n + k)] * h[static_cast<size_t>(k * n + j)];
        ASSERT_NEAR(s, i == j ? 1.0 : 0.0, 1e-14 * static_cast<double>(n));
      }
  }
}

TEST(Hadamard, Bf16Value128) {
  const std::vector<uint16_t> h = kcs::sylvester_hadamard_bf16(128);
  EXPECT_EQ(h[0], 0x3DB5);          // bf16(1/sqrt(128)) = 0.08837890625 (spec §1.5)
  EXPECT_EQ(h[128 + 1], 0xBDB5);    // row 1, column 1: -1/sqrt(128)
  EXPECT_EQ(kcs::bf16_to_float(0x3DB5), 0.08837890625f);
  for (uint16_t v : h) ASSERT_TRUE(v == 0x3DB5 || v == 0xBDB5);
  // Powers of four are exact: 1/sqrt(64) = 1/8.
  EXPECT_EQ(kcs::sylvester_hadamard_bf16(64)[0], kcs::bf16_from_double(0.125));
}

TEST(Hadamard, RejectsNonPowerOfTwo) {
  for (int64_t n : {int64_t{0}, int64_t{3}, int64_t{96}, int64_t{-4}})
    EXPECT_THROW(kcs::sylvester_hadamard(n), kcs::Error) << n;
}

}  // namespace
