// The one way kcs reads JSON it did not just build (results, baselines, expectations, catalogs):
// a size limit checked before anything is read and a nesting-depth limit checked by a scan of the
// text before it is parsed, so that a hostile file gives a clear error instead of an unbounded
// allocation or a stack overflow in the parser or the destructor of a deep value.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace kcs {

struct JsonLimits {
  size_t max_bytes = size_t{1} << 30;  // a ci results file of today's format is ~120 MB
  int max_depth = 64;                  // kcs writes at most 6 levels
};

// Throws kcs::Error naming `what` when the text nests deeper than the limit (brackets inside
// strings do not count). Linear, no recursion.
void check_json_depth(std::string_view text, const std::string& what, int max_depth);

// Parses one JSON text within the limits; errors name `what`.
nlohmann::json parse_json_bounded(std::string_view text, const std::string& what, const JsonLimits& limits = {});

// The whole file as text, refusing one larger than max_bytes (errors name the file).
std::string read_text_file_bounded(const std::string& path, size_t max_bytes);

// read_text_file_bounded + parse_json_bounded.
nlohmann::json read_json_file(const std::string& path, const JsonLimits& limits = {});

}  // namespace kcs
