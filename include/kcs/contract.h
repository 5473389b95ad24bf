// The contract vocabulary of spec §10.5 / DESIGN "Contracts".
#pragma once

#include <cstdint>
#include <string>

namespace kcs {

struct Contract {
  enum class Kind {
    none,       // inputs
    exact,      // bit-identical (NaN matches any NaN)
    max_ulp,    // d_ulp <= ulps for every element, in the output's own format
    int_code,   // |code diff| <= max_diff everywhere and ratio(diff != 0) <= max_ratio
    abs_rel,    // |a-e| <= atol + rtol*|e| for all but ratio <= max_ratio of elements
    untouched,  // bytes outside the touched rows equal `before` (implicit for every inout tensor)
  };
  Kind kind = Kind::none;
  int64_t ulps = 0;
  double max_diff = 0;
  double max_ratio = 0;
  double atol = 0;
  double rtol = 0;

  static Contract Exact() { return {Kind::exact, 0, 0, 0, 0, 0}; }
  static Contract MaxUlp(int64_t n) { return {Kind::max_ulp, n, 0, 0, 0, 0}; }
  static Contract IntCode(double max_diff, double max_ratio) { return {Kind::int_code, 0, max_diff, max_ratio, 0, 0}; }
  static Contract AbsRel(double atol, double rtol, double max_ratio) {
    return {Kind::abs_rel, 0, 0, max_ratio, atol, rtol};
  }
  static Contract Untouched() { return {Kind::untouched, 0, 0, 0, 0, 0}; }

  std::string str() const;  // "exact", "max_ulp(1)", "int_code(1, 1%)", "abs_rel(1e-4, 0.0078125, 0.5%)"
};

}  // namespace kcs
