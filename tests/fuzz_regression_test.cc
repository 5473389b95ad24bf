// Every input in fuzz/regressions (what the bundle reader fuzzer once found) and
// fuzz/regressions/outputs (the outputs reader fuzzer's) replayed through the g++ build, also
// under the asan preset: the reader returns or throws kcs::Error naming the file, nothing else.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "conformance/fixture/bundle.h"
#include "fuzz/outputs_check.h"

namespace kcs {
namespace {

std::vector<std::string> regression_inputs(const std::string& sub = "") {
  std::vector<std::string> out;
  const std::filesystem::path dir = std::filesystem::path(KCS_SOURCE_DIR) / "fuzz" / "regressions" / sub;
  if (std::filesystem::is_directory(dir))
    for (const auto& e : std::filesystem::directory_iterator(dir))
      if (e.is_regular_file()) out.push_back(e.path().string());
  return out;
}

TEST(FuzzRegressions, ReaderRefusesOrReadsEveryInput) {
  const auto inputs = regression_inputs();
  EXPECT_FALSE(inputs.empty()) << "fuzz/regressions is empty";
  for (const auto& path : inputs) {
    SCOPED_TRACE(path);
    try {
      read_bundle(path);
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << "the error does not name the file: " << e.what();
    }
  }
}

TEST(FuzzRegressions, OutputsCheckRefusesOrScoresEveryInput) {
  const auto inputs = regression_inputs("outputs");
  EXPECT_FALSE(inputs.empty()) << "fuzz/regressions/outputs is empty";
  const std::vector<Bundle> bundles = fuzz::load_outputs_bundles(KCS_SOURCE_DIR);
  for (const auto& path : inputs) {
    SCOPED_TRACE(path);
    try {
      EXPECT_FALSE(fuzz::check_outputs_file(path, bundles).empty());
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << "the error does not name the file: " << e.what();
    }
  }
}

}  // namespace
}  // namespace kcs
