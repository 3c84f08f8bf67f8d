#include "common/codec.h"

#include <array>
#include <cerrno>
#include <cstring>

namespace sockspec {

std::string errno_name(int err) {
  if (const char* name = strerrorname_np(err)) return name;
  return "E" + std::to_string(err);
}

std::optional<int> errno_from_name(std::string_view name) {
  // errno values are small and dense on Linux; scanning them keeps one table (glibc's).
  for (int e = 1; e < 256; ++e) {
    const char* n = strerrorname_np(e);
    if (n != nullptr && name == n) return e;
  }
  return std::nullopt;
}

namespace {
constexpr char kHexDigits[] = "0123456789abcdef";

constexpr int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

constexpr bool is_space(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

constexpr char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int b64_value(char c) {
  const char* p = std::strchr(kB64, c);
  return (c != '\0' && p != nullptr) ? static_cast<int>(p - kB64) : -1;
}
}  // namespace

std::string to_hex(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(kHexDigits[c >> 4]);
    out.push_back(kHexDigits[c & 15]);
  }
  return out;
}

std::optional<std::string> from_hex(std::string_view text) {
  // A table, not branches: fuzzer inputs reparse 64 KiB payloads thousands of times a second.
  static constexpr auto kValue = [] {
    std::array<signed char, 256> t{};
    for (auto& v : t) v = -1;
    for (int c = 0; c < 256; ++c) {
      int v = hex_value(static_cast<char>(c));
      if (v >= 0) t[c] = static_cast<signed char>(v);
      if (is_space(static_cast<char>(c))) t[c] = -2;
    }
    return t;
  }();
  std::string out(text.size() / 2, '\0');
  size_t n = 0;
  int high = -1;
  for (char c : text) {
    int v = kValue[static_cast<unsigned char>(c)];
    if (v == -2) continue;
    if (v < 0) return std::nullopt;
    if (high < 0) {
      high = v;
    } else {
      out[n++] = static_cast<char>(high * 16 + v);
      high = -1;
    }
  }
  if (high >= 0) return std::nullopt;
  out.resize(n);
  return out;
}

std::optional<std::string> from_base64(std::string_view text) {
  std::string out;
  unsigned acc = 0;
  int bits = 0;
  size_t padding = 0;
  for (char c : text) {
    if (is_space(c)) continue;
    if (c == '=') {
      ++padding;
      continue;
    }
    if (padding > 0) return std::nullopt;  // data after padding
    int v = b64_value(c);
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<unsigned>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  // Leftover bits must be zero padding of the last group: 2 or 4 bits, never 6.
  if (bits >= 6 || padding > 2) return std::nullopt;
  return out;
}

std::string to_base64(std::string_view bytes) {
  std::string out;
  size_t i = 0;
  auto at = [&](size_t k) { return static_cast<unsigned char>(bytes[k]); };
  for (; i + 3 <= bytes.size(); i += 3) {
    unsigned v = (at(i) << 16) | (at(i + 1) << 8) | at(i + 2);
    for (int s = 18; s >= 0; s -= 6) out.push_back(kB64[(v >> s) & 63]);
  }
  size_t rest = bytes.size() - i;
  if (rest > 0) {
    unsigned v = at(i) << 16;
    if (rest == 2) v |= at(i + 1) << 8;
    out.push_back(kB64[(v >> 18) & 63]);
    out.push_back(kB64[(v >> 12) & 63]);
    out.push_back(rest == 2 ? kB64[(v >> 6) & 63] : '=');
    out.push_back('=');
  }
  return out;
}

std::string escape_bytes(std::string_view bytes) {
  std::string out;
  for (unsigned char c : bytes) {
    switch (c) {
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\\':
        out += "\\\\";
        break;
      default:
        if (c >= 0x20 && c < 0x7f) {
          out.push_back(static_cast<char>(c));
        } else {
          out += "\\x";
          out.push_back(kHexDigits[c >> 4]);
          out.push_back(kHexDigits[c & 15]);
        }
    }
  }
  return out;
}

}  // namespace sockspec
