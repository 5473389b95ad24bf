// Every input in fuzz/regressions (what the bundle reader fuzzer once found) replayed through the
// g++ build, also under the asan preset: read_bundle returns or throws kcs::Error, nothing else.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "conformance/fixture/bundle.h"

namespace kcs {
namespace {

std::vector<std::string> regression_inputs() {
  std::vector<std::string> out;
  const std::filesystem::path dir = std::filesystem::path(KCS_SOURCE_DIR) / "fuzz" / "regressions";
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

}  // namespace
}  // namespace kcs
