#include "scenario/endpoint.h"

#include <charconv>

namespace sockspec::scenario {

std::optional<UnixPrefix> unix_prefix(std::string_view text) {
  if (text.starts_with("unix:")) return UnixPrefix{false, text.substr(5)};
  if (text.starts_with("unixgram:")) return UnixPrefix{true, text.substr(9)};
  return std::nullopt;
}

namespace {
// sun_path holds 108 bytes: a path needs its NUL, an abstract name has a NUL in front.
constexpr size_t kMaxUnixPath = 107;
}  // namespace

EndpointParse parse_endpoint(std::string_view text) {
  if (text == "target") return {Endpoint{true, "", 0, "", false}, ""};
  if (auto u = unix_prefix(text)) {
    std::string path(u->rest);
    if (path.empty() || path == "@") {
      return {std::nullopt, "expected unix:/path or unix:@name, got '" + std::string(text) + "'"};
    }
    if (path.size() > kMaxUnixPath) {
      return {std::nullopt, "an AF_UNIX path is at most " + std::to_string(kMaxUnixPath) +
                                " bytes, got " + std::to_string(path.size())};
    }
    if (path.find('\0') != std::string::npos) {
      return {std::nullopt, "an AF_UNIX path cannot hold a NUL byte"};
    }
    return {Endpoint{false, "", 0, path, u->dgram}, ""};
  }
  std::string_view host, port;
  if (text.starts_with('[')) {
    size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return {std::nullopt, "expected [v6addr]:port, got '" + std::string(text) + "'"};
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) {
      return {std::nullopt, "expected \"target\", host:port, [v6addr]:port or unix:/path, got '" +
                                std::string(text) + "'"};
    }
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) {
      return {std::nullopt, "IPv6 addresses need brackets: [" + std::string(host) + "]:port"};
    }
  }
  if (host.empty()) return {std::nullopt, "empty host in '" + std::string(text) + "'"};
  unsigned value = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc() || end != port.data() + port.size() || value > 65535) {
    return {std::nullopt, "port must be 0..65535, got '" + std::string(port) + "'"};
  }
  return {Endpoint{false, std::string(host), static_cast<uint16_t>(value), "", false}, ""};
}

std::string format_endpoint(std::string_view host, uint16_t port) {
  std::string h(host);
  if (h.find(':') != std::string::npos) h = "[" + h + "]";
  return h + ":" + std::to_string(port);
}

}  // namespace sockspec::scenario
