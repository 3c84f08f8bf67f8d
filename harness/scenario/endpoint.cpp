#include "scenario/endpoint.h"

#include <charconv>

namespace sockspec::scenario {

EndpointParse parse_endpoint(std::string_view text) {
  if (text == "target") return {Endpoint{true, "", 0}, ""};
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
      return {std::nullopt,
              "expected \"target\", host:port or [v6addr]:port, got '" + std::string(text) + "'"};
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
  return {Endpoint{false, std::string(host), static_cast<uint16_t>(value)}, ""};
}

std::string format_endpoint(std::string_view host, uint16_t port) {
  std::string h(host);
  if (h.find(':') != std::string::npos) h = "[" + h + "]";
  return h + ":" + std::to_string(port);
}

}  // namespace sockspec::scenario
