// Checks a JSON text before any recursive code sees it. nlohmann's parser, its dump() and our
// step parser all recurse once per nesting level, so 100,000 nested arrays would overflow the
// stack; a number like 1e400 makes the parser throw out_of_range with no position. This scan
// is iterative and linear, and names the JSON pointer of what is wrong. Pure.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace sockspec::reports {

// Deep enough for any real suite (a repeat inside a parallel inside a repeat is 8 levels),
// shallow enough for every recursive reader of the document.
constexpr size_t kMaxJsonDepth = 64;
// Larger than any suite, profile or report we write: 64 MiB.
constexpr size_t kMaxJsonBytes = 64u << 20;

struct JsonProblem {
  std::string pointer;  // where (RFC 6901), "" for the whole document
  std::string message;
};

// A key escaped for a JSON pointer (RFC 6901: ~ as ~0, / as ~1).
std::string json_pointer_escape(std::string_view key);

// The first problem found, or nullopt. Syntax errors are left to the real parser (it reports
// them with a position); only what would crash or escape it is reported here.
std::optional<JsonProblem> check_json_limits(std::string_view text,
                                             size_t max_depth = kMaxJsonDepth,
                                             size_t max_bytes = kMaxJsonBytes);

}  // namespace sockspec::reports
