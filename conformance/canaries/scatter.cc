// Paged-cache scatter canaries: written rows exact, every other row untouched.
#include <cstring>
#include <map>

#include "conformance/canaries/faults.h"

namespace kcs {

namespace {

// Bytes of row r of a tensor (rows = all but the last dim).
uint8_t* row_bytes(Tensor& t, int64_t r) {
  return static_cast<uint8_t*>(t.raw()) + static_cast<size_t>(r * t.row_len()) * dtype_size(t.dtype());
}

// First row with touched[r] == want (and, for touched rows, whose written value differs from
// `before`, so that skipping the write is visible).
int64_t pick_row(const Bundle& b, bool want) {
  const auto& mask = b.touched.at("cache");
  const Tensor& before = b.inout_before.at("cache");
  const Tensor& after = b.inout_after.at("cache");
  const size_t len = static_cast<size_t>(before.row_len()) * dtype_size(before.dtype());
  for (size_t r = 0; r < mask.size(); ++r) {
    if ((mask[r] != 0) != want) continue;
    const size_t off = r * len;
    if (want && std::memcmp(static_cast<const uint8_t*>(before.raw()) + off,
                            static_cast<const uint8_t*>(after.raw()) + off, len) == 0)
      continue;
    return static_cast<int64_t>(r);
  }
  return -1;
}

}  // namespace

std::vector<Canary> scatter_canaries() {
  using namespace canary;
  const std::string cs = "scatter.s1_k1_cache.*";
  std::vector<Canary> v;

  v.push_back({"write_untouched_row", "a write to a cache row no index names", cs, "", {"cache.untouched"},
               [](const FaultCall& fc) {
                 Status s = fc.run_reference();
                 if (!s) return s;
                 const int64_t r = pick_row(fc.bundle, false);
                 if (r < 0) return Status::Fail("canary: every row is touched");
                 Tensor& cache = fc.out("cache");
                 step_units(cache, r * cache.row_len(), 1);
                 return s;
               }});

  v.push_back({"skipped_write", "a skipped write (one token's row not written)", cs, "", {"cache"},
               [](const FaultCall& fc) {
                 Status s = fc.run_reference();
                 if (!s) return s;
                 const int64_t r = pick_row(fc.bundle, true);
                 if (r < 0) return Status::Fail("canary: no touched row changes");
                 Tensor& cache = fc.out("cache");
                 const Tensor& before = fc.bundle.inout_before.at("cache");
                 const size_t len = static_cast<size_t>(cache.row_len()) * dtype_size(cache.dtype());
                 std::memcpy(row_bytes(cache, r), static_cast<const uint8_t*>(before.raw()) + r * len, len);
                 return s;
               }});

  v.push_back({"code_off_by_1", "one int8 code of a written row off by 1", cs, "", {"cache"},
               [](const FaultCall& fc) {
                 Status s = fc.run_reference();
                 if (!s) return s;
                 const int64_t r = pick_row(fc.bundle, true);
                 if (r < 0) return Status::Fail("canary: no touched row changes");
                 Tensor& cache = fc.out("cache");
                 step_units(cache, r * cache.row_len() + 1, 1);
                 return s;
               }});

  // Duplicate slots: the spec says the last token wins; this one lets the first win.
  v.push_back({"first_duplicate_wins", "duplicate cache_index: first token wins instead of last",
               "scatter.s1_duplicates.*", "", {"cache"}, [](const FaultCall& fc) {
                 return fc.run_reference_with([](Problem&, TensorMap& t) {
                   Tensor& index = t.at("index");
                   std::map<int64_t, int> seen;
                   for (int64_t i = 0; i < index.numel(); ++i) {
                     int64_t& x = index.data<int64_t>()[i];
                     if (x >= 0 && seen[x]++) x = -1;  // later duplicates become padding
                   }
                 });
               }});
  return v;
}

}  // namespace kcs
