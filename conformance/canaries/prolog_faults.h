// Faults shared by the K1 / K2 prolog canaries: a write into a cache row that no index names, and
// a quantized row whose ±127 codes are pulled to ±126 (only the row-has-127 invariants see that:
// one row's codes off by 1 stays inside int_code(1, 1%)).
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "conformance/canaries/faults.h"

namespace kcs::canary {

inline Canary write_untouched(const std::string& cache, const std::string& case_glob) {
  return {cache + "_write_untouched_row", "a write to a " + cache + " row that no index names", case_glob, "",
          {cache + ".untouched"}, [cache](const FaultCall& fc) {
            Status s = fc.run_reference();
            if (!s) return s;
            const auto& mask = fc.bundle.touched.at(cache);
            for (size_t r = 0; r < mask.size(); ++r)
              if (!mask[r]) {
                Tensor& t = fc.out(cache);
                step_units(t, static_cast<int64_t>(r) * t.row_len(), 1);
                return s;
              }
            return Status::Fail("canary: every " + cache + " row is touched");
          }};
}

// `mutate` applied to the first element of the first row the call must write (visible_element does
// not know the touched mask, and a fault in an untouched row is the other canary's job).
inline Canary touched_fault(const std::string& cache, const std::string& name, const std::string& what,
                            const std::string& case_glob, std::function<void(Tensor&, int64_t)> mutate) {
  return {name, what, case_glob, "", {cache}, [cache, mutate](const FaultCall& fc) {
            Status s = fc.run_reference();
            if (!s) return s;
            const auto& mask = fc.bundle.touched.at(cache);
            for (size_t r = 0; r < mask.size(); ++r)
              if (mask[r]) {
                Tensor& t = fc.out(cache);
                mutate(t, static_cast<int64_t>(r) * t.row_len());
                return s;
              }
            return Status::Fail("canary: no " + cache + " row is written");
          }};
}

// Every ±127 of row `row` of int8 tensor `name` (rows of `len` codes) becomes ±126.
inline Canary no_127(const std::string& name, int64_t len, int64_t row, const std::string& case_glob,
                     const std::string& invariant) {
  return {name + "_row_without_127", "a quantized " + name + " row whose +-127 codes became +-126", case_glob, "",
          {invariant}, [name, len, row](const FaultCall& fc) {
            Status s = fc.run_reference();
            if (!s) return s;
            int8_t* c = fc.out(name).data<int8_t>() + row * len;
            int n = 0;
            for (int64_t j = 0; j < len; ++j)
              if (c[j] == 127 || c[j] == -127) {
                c[j] = static_cast<int8_t>(c[j] > 0 ? 126 : -126);
                ++n;
              }
            return n ? s : Status::Fail("canary: no +-127 code in that row");
          }};
}

}  // namespace kcs::canary
