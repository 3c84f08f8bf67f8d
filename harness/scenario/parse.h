// Suite files: JSON text to the typed model, with every problem reported at once. Pure.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "scenario/model.h"

namespace sockspec::scenario {

struct Diagnostic {
  std::string file;
  std::string pointer;  // JSON pointer ("" for the whole document)
  std::string message;
  std::string to_string() const;  // file:pointer: message
};

struct ParseResult {
  std::optional<Suite> suite;  // set only when there are no errors
  std::vector<Diagnostic> errors;
};

// `file` names the source in messages and in the model.
ParseResult parse_suite(std::string_view json_text, const std::string& file);

// Escapes a key for use in a JSON pointer (RFC 6901: ~ as ~0, / as ~1).
std::string pointer_escape(std::string_view key);

}  // namespace sockspec::scenario
