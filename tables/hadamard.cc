// Sylvester Hadamard builders (spec §1.5): natural order, as scipy.linalg.hadamard.
#include "tables/hadamard.h"

#include <cmath>
#include <string>

#include "kcs/formats.h"
#include "kcs/status.h"

namespace kcs {

namespace {

bool is_pow2(int64_t d) { return d >= 1 && (d & (d - 1)) == 0; }

void require_pow2(int64_t d) {
  if (!is_pow2(d)) throw Error("Sylvester Hadamard matrix: d = " + std::to_string(d) + " is not a power of two");
}

}  // namespace

std::vector<int8_t> sylvester_hadamard(int64_t d) {
  require_pow2(d);
  std::vector<int8_t> h(static_cast<size_t>(d * d));
  for (int64_t i = 0; i < d; ++i)
    for (int64_t j = 0; j < d; ++j)
      h[static_cast<size_t>(i * d + j)] = (__builtin_popcountll(static_cast<uint64_t>(i & j)) & 1) ? -1 : 1;
  return h;
}

std::vector<double> sylvester_hadamard_normalized(int64_t d) {
  const std::vector<int8_t> h = sylvester_hadamard(d);
  // 1/√d = √(1/d): 1/d is exact for a power of two, so this is one correctly rounded sqrt.
  const double s = std::sqrt(1.0 / static_cast<double>(d));
  std::vector<double> out(h.size());
  for (size_t i = 0; i < h.size(); ++i) out[i] = h[i] * s;
  return out;
}

std::vector<uint16_t> sylvester_hadamard_bf16(int64_t d) {
  const std::vector<double> n = sylvester_hadamard_normalized(d);
  std::vector<uint16_t> out(n.size());
  for (size_t i = 0; i < n.size(); ++i) out[i] = bf16_from_double(n[i]);
  return out;
}

}  // namespace kcs
