// "target", "host:port", "[v6addr]:port" and AF_UNIX names ("unix:/path", "unix:@abstract",
// "unixgram:/path") as written in scenarios and on the command line. Pure.
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
  // AF_UNIX: the path, or "@name" for the abstract namespace; empty for IP endpoints.
  std::string unix_path;
  bool unix_dgram = false;  // written "unixgram:": a datagram socket
  bool is_unix() const { return !unix_path.empty(); }
};

struct EndpointParse {
  std::optional<Endpoint> endpoint;
  std::string error;
};
EndpointParse parse_endpoint(std::string_view text);

// "unix:" or "unixgram:" with `rest` set to what follows, else nullopt. The path may be empty
// here (a managed server's socket is named by the harness); parse_endpoint requires one.
struct UnixPrefix {
  bool dgram = false;
  std::string_view rest;
};
std::optional<UnixPrefix> unix_prefix(std::string_view text);

// host:port with brackets around IPv6 literals.
std::string format_endpoint(std::string_view host, uint16_t port);

}  // namespace sockspec::scenario
