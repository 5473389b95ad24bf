#include "conformance/runner/json_input.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include "kcs/status.h"

namespace kcs {

void check_json_depth(std::string_view text, const std::string& what, int max_depth) {
  int depth = 0;
  bool in_string = false, escaped = false;
  size_t line = 1;
  for (const char ch : text) {
    if (ch == '\n') ++line;
    if (in_string) {
      if (escaped) escaped = false;
      else if (ch == '\\') escaped = true;
      else if (ch == '"') in_string = false;
      continue;
    }
    if (ch == '"') in_string = true;
    else if (ch == '[' || ch == '{') {
      if (++depth > max_depth)
        throw Error(what + " nests JSON deeper than " + std::to_string(max_depth) + " levels (line " +
                    std::to_string(line) + "): not a file kcs wrote");
    } else if (ch == ']' || ch == '}') {
      --depth;
    }
  }
}

nlohmann::json parse_json_bounded(std::string_view text, const std::string& what, const JsonLimits& limits) {
  if (text.size() > limits.max_bytes)
    throw Error(what + " is " + std::to_string(text.size()) + " bytes, more than the limit of " +
                std::to_string(limits.max_bytes));
  check_json_depth(text, what, limits.max_depth);
  try {
    return nlohmann::json::parse(text.begin(), text.end());
  } catch (const std::exception& e) {
    throw Error(what + " is not valid JSON: " + e.what());
  }
}

std::string read_text_file_bounded(const std::string& path, size_t max_bytes) {
  std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!f) throw Error("cannot open " + path + ": " + std::strerror(errno));
  struct stat st {};
  if (fstat(fileno(f.get()), &st) != 0) throw Error("cannot stat " + path + ": " + std::strerror(errno));
  if (S_ISDIR(st.st_mode)) throw Error(path + " is a directory, not a file");
  if (S_ISREG(st.st_mode) && static_cast<uint64_t>(st.st_size) > max_bytes)
    throw Error(path + " is " + std::to_string(st.st_size) + " bytes, more than the limit of " +
                std::to_string(max_bytes));
  std::string text;
  char buf[1 << 16];
  size_t n;
  // Read in chunks, enforcing the limit as we go: a pipe or a growing file has no trustworthy size.
  while ((n = std::fread(buf, 1, sizeof buf, f.get())) > 0) {
    if (text.size() + n > max_bytes)
      throw Error(path + " is more than the limit of " + std::to_string(max_bytes) + " bytes");
    text.append(buf, n);
  }
  if (std::ferror(f.get())) throw Error("error reading " + path);
  return text;
}

nlohmann::json read_json_file(const std::string& path, const JsonLimits& limits) {
  return parse_json_bounded(read_text_file_bounded(path, limits.max_bytes), path, limits);
}

}  // namespace kcs
