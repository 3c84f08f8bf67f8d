// "target", "host:port" and "[v6addr]:port" as written in scenarios and on the command line. Pure.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sockspec::scenario {

struct Endpoint {
  bool is_target = false;  // the word "target": the run's target address
  std::string host;        // without brackets
  uint16_t port = 0;
};

struct EndpointParse {
  std::optional<Endpoint> endpoint;
  std::string error;
};
EndpointParse parse_endpoint(std::string_view text);

// host:port with brackets around IPv6 literals.
std::string format_endpoint(std::string_view host, uint16_t port);

}  // namespace sockspec::scenario
