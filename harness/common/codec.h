// Byte codecs shared by the parser, the matchers and the diff renderer. Pure.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace sockspec {

// "SYMBOLIC" errno name (ECONNREFUSED), or "E<number>" when glibc has none.
std::string errno_name(int err);
// The errno value for a symbolic name, or nullopt when the name is not one.
std::optional<int> errno_from_name(std::string_view name);

std::string to_hex(std::string_view bytes);  // lower-case, no separators
// Hex digits with any whitespace ignored; nullopt on a non-hex digit or an odd count.
std::optional<std::string> from_hex(std::string_view text);
// Standard base64 (RFC 4648 section 4), whitespace ignored, padding optional.
std::optional<std::string> from_base64(std::string_view text);
std::string to_base64(std::string_view bytes);
// Printable ASCII kept, \n \r \t \\ escaped, everything else as \xHH.
std::string escape_bytes(std::string_view bytes);

}  // namespace sockspec
