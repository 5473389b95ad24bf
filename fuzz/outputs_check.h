// The `kcs check` path as outputs_reader_fuzz drives it, shared with the g++ replay of its
// regressions (tests/fuzz_regression_test.cc): an outputs file scored against the committed
// bundle of its kernel (the first one when no bundle matches: read_outputs must refuse it).
#pragma once

#include <mutex>
#include <string>
#include <vector>

#include "conformance/fixture/bundle.h"
#include "conformance/fixture/h5.h"
#include "conformance/runner/runner.h"

namespace kcs::fuzz {

// Small ci bundles of five kernels (in-out tensors, packed FP4, UE4M3 scales, bf16 and fp32
// outputs); fuzz/make_outputs_seeds.py writes the seeds from the same list.
inline const std::vector<std::string>& outputs_bundle_paths() {
  static const std::vector<std::string> paths = {
      "q8/q8.ties.rows=2.n=9.round_mode=rint.h5",
      "scatter/scatter.s1_k1_scale.T=7.block_num=6.block_size=16.D=1.dtype=float16.h5",
      "nvfp4_quant/nvfp4_quant.random.M=3.K=128.h5",
      "gemm_i8/gemm_i8.random.m=2.k=64.n=17.out_dtype=float32.h5",
      "rope/rope.signed_zeros.T=2.H=3.D=64.R=32.W=32.mode=v2.h5",
  };
  return paths;
}

inline std::vector<Bundle> load_outputs_bundles(const std::string& source_dir) {
  std::vector<Bundle> v;
  for (const auto& p : outputs_bundle_paths())
    v.push_back(read_bundle(source_dir + "/fixtures/bundles/" + p, BundleExtras::scoring));  // as kcs check
  return v;
}

// Throws kcs::Error when the file is refused.
inline std::vector<CheckResult> check_outputs_file(const std::string& path, const std::vector<Bundle>& bundles) {
  std::string kernel;
  {
    std::lock_guard<std::mutex> guard(h5::lock());
    h5::silence_errors();
    h5::Object f = h5::open_file(path);
    kernel = h5::read_str_attr(f.loc, "kernel");
  }
  const Bundle* b = &bundles.front();
  for (const auto& c : bundles)
    if (c.problem.kernel == kernel) b = &c;
  const KernelDecl& decl = kernel_or_throw(b->problem.kernel);
  return score_outputs(decl, *b, read_outputs(path, decl, b->problem));
}

}  // namespace kcs::fuzz
