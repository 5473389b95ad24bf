// Error reporting shared by every layer of kcs.
//
// Backends return Status (a failing backend must not abort a sweep); readers, validators and the
// CLI throw kcs::Error, whose message always names the thing that is wrong (file, dataset, tensor).
#pragma once

#include <stdexcept>
#include <string>
#include <utility>

namespace kcs {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

struct Status {
  bool ok = true;
  std::string message;

  static Status Ok() { return {}; }
  static Status Fail(std::string msg) { return {false, std::move(msg)}; }
  explicit operator bool() const { return ok; }
};

}  // namespace kcs
