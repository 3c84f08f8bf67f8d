#include "runner/target.h"

#include <poll.h>

#include <cerrno>

#include "net/socket.h"
#include "scenario/endpoint.h"

namespace sockspec::runner {

TargetSpec parse_target(const std::string& text) {
  TargetSpec t;
  if (text.rfind("builtin:", 0) == 0) {
    t.builtin = text.substr(8);
    if (t.builtin.empty()) t.error = "--target builtin: needs a service name, e.g. builtin:echo";
    return t;
  }
  auto ep = scenario::parse_endpoint(text);
  if (!ep.endpoint || ep.endpoint->is_target) {
    t.error = "--target must be HOST:PORT, [V6ADDR]:PORT or builtin:SERVICE, got '" + text + "'";
    return t;
  }
  t.host = ep.endpoint->host;
  t.port = ep.endpoint->port;
  return t;
}

namespace {
net::NetError try_connect(const net::SockAddr& a) {
  auto s = net::open_socket(a.family(), SOCK_STREAM, {});
  if (!s.ok()) return s.error;
  auto e = net::start_connect(s.fd.get(), a);
  if (e.err != EINPROGRESS) return e;
  pollfd p{s.fd.get(), POLLOUT, 0};
  if (poll(&p, 1, 2000) != 1) return {"connect", a.to_string(), ETIMEDOUT};
  return net::finish_connect(s.fd.get(), a);
}
}  // namespace

Reach reach_target(const std::string& name, const std::string& host, uint16_t port,
                   bool probe_tcp) {
  Reach r;
  r.target.name = name;
  r.target.host = host;
  auto res = net::resolve(host, port, probe_tcp ? SOCK_STREAM : SOCK_DGRAM);
  if (res.addrs.empty()) {
    r.error = res.error;
    return r;
  }
  r.target.addr = res.addrs.front();
  if (!probe_tcp) return r;
  std::string tried;
  for (const auto& a : res.addrs) {
    auto e = try_connect(a);
    if (e.err == 0) {
      r.target.addr = a;
      return r;
    }
    tried += (tried.empty() ? "" : "; ") + e.to_string();
  }
  r.error = tried;
  return r;
}

}  // namespace sockspec::runner
