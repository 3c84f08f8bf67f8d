#include "runner/target.h"

#include <poll.h>

#include <algorithm>
#include <cerrno>

#include "net/socket.h"
#include "runner/policy.h"
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

TargetSpec check_target_options(const std::string& target, const std::string& server_cmd,
                                const std::vector<std::string>& builtin_services) {
  TargetSpec spec;
  if (target.empty() && server_cmd.empty()) {
    spec.error =
        "say what to test: --target HOST:PORT, --target builtin:SERVICE, or --server-cmd 'CMD "
        "{port}'";
    return spec;
  }
  if (target.empty()) return spec;
  spec = parse_target(target);
  if (!spec.error.empty() || spec.builtin.empty()) return spec;
  if (std::find(builtin_services.begin(), builtin_services.end(), spec.builtin) ==
      builtin_services.end()) {
    std::string list;
    for (const auto& k : builtin_services) list += (list.empty() ? "" : ", ") + k;
    spec.error = "no built-in service '" + spec.builtin + "' (known: " + list + ")";
  } else if (!server_cmd.empty()) {
    spec.error = "--target builtin:SERVICE already starts a server; drop --server-cmd";
  }
  return spec;
}

Prepared prepare_target(const TargetSpec& spec, const std::string& target_text,
                        const std::string& server_cmd, const std::string& self_exe, bool tcp,
                        bool udp, int netns_fd) {
  Prepared p;
  if (spec.builtin.empty() && server_cmd.empty()) {
    Reach r = reach_target(target_text, spec.host, spec.port, tcp);
    if (!r.error.empty()) p.error = "target " + target_text + " cannot be reached: " + r.error;
    p.target = r.target;
    return p;
  }
  std::string host = spec.host.empty() ? "127.0.0.1" : spec.host;
  auto res = net::resolve(host, spec.port, SOCK_STREAM);
  if (res.addrs.empty()) {
    p.error = res.error;
    return p;
  }
  net::SockAddr addr = res.addrs.front();
  std::string cmd = server_cmd;
  for (size_t at; (at = cmd.find("{host}")) != std::string::npos;) cmd.replace(at, 6, addr.host());
  if (!spec.builtin.empty()) {
    cmd = shell_quote(self_exe) + " serve " + spec.builtin + " --transport both --bind " +
          shell_quote(addr.host()) + " --port {port}";
  }
  std::string e;
  // A port we picked was free a moment ago; another program may take it before the server
  // binds it. Then another port, a few times, rather than a failed run.
  for (int attempt = 0; attempt < 4; ++attempt) {
    if (spec.port == 0) {
      // In a namespace of its own every port is free; any number loopback has free will do.
      net::SockAddr here = addr;
      if (netns_fd >= 0) here = net::resolve("127.0.0.1", 0, SOCK_STREAM).addrs.front();
      addr.set_port(pick_free_port(here));
    }
    p.server = std::make_unique<ManagedServer>(cmd, addr, tcp, udp);
    if (netns_fd >= 0) p.server->set_netns(netns_fd);
    e = p.server->start_and_wait(std::chrono::seconds(10));
    std::string err_text = p.server->output().stderr_text;
    bool taken = err_text.find("EADDRINUSE") != std::string::npos ||
                 err_text.find("Address already in use") != std::string::npos;
    if (e.empty() || spec.port != 0 || !taken) break;
  }
  if (!e.empty()) {
    p.error = "the server did not start: " + e + "\n  command: " + p.server->command_line();
    auto output = p.server->output();
    if (!output.stderr_text.empty()) p.error += "\n  its stderr:\n" + output.stderr_text;
    return p;
  }
  p.target.name = target_text.empty() ? addr.to_string() : target_text;
  p.target.host = host;
  p.target.addr = addr;
  return p;
}

}  // namespace sockspec::runner
