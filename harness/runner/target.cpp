#include "runner/target.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <iterator>

#include "common/codec.h"
#include "net/socket.h"
#include "runner/policy.h"
#include "scenario/endpoint.h"

namespace sockspec::runner {

TargetSpec parse_target(const std::string& full) {
  TargetSpec t;
  // tls:ANY-OTHER-TARGET: the same target, TLS on its stream connections.
  std::string text = full;
  if (text.rfind("tls:", 0) == 0) {
    t.tls = true;
    text = text.substr(4);
    if (text.rfind("unixgram:", 0) == 0) {
      t.error = "--target tls: runs over a stream; unixgram: is a datagram socket";
      return t;
    }
  }
  if (text.rfind("builtin:", 0) == 0) {
    t.builtin = text.substr(8);
    if (t.builtin.empty()) t.error = "--target builtin: needs a service name, e.g. builtin:echo";
    return t;
  }
  if (auto u = scenario::unix_prefix(text)) {
    t.unix = true;
    t.unix_dgram = u->dgram;
    if (u->rest.empty()) return t;  // the managed server's path is made for it
    auto ep = scenario::parse_endpoint(text);
    if (!ep.endpoint) t.error = "--target " + text + ": " + ep.error;
    if (ep.endpoint) t.unix_path = ep.endpoint->unix_path;
    return t;
  }
  auto ep = scenario::parse_endpoint(text);
  if (!ep.endpoint || ep.endpoint->is_target) {
    t.error =
        "--target must be HOST:PORT, [V6ADDR]:PORT, unix:PATH, unixgram:PATH or "
        "builtin:SERVICE, got '" +
        text + "'";
    return t;
  }
  t.host = ep.endpoint->host;
  t.port = ep.endpoint->port;
  return t;
}

Reach reach_target(const std::string& name, const std::string& host, uint16_t port, bool probe_tcp,
                   bool deferred) {
  Reach r;
  r.target.name = name;
  r.target.host = host;
  auto res = net::resolve(host, port, probe_tcp ? SOCK_STREAM : SOCK_DGRAM);
  if (res.addrs.empty()) {
    r.error = res.error;
    return r;
  }
  r.target.addr = res.addrs.front();
  if (!probe_tcp || (deferred && res.addrs.size() == 1)) return r;
  r.probed = true;
  std::string tried;
  for (const auto& a : res.addrs) {
    auto e = net::probe_connect(a, 2000);
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
  bool path_placeholder = server_cmd.find("{path}") != std::string::npos;
  if (target.empty()) {
    spec.unix = path_placeholder;
    return spec;
  }
  spec = parse_target(target);
  if (spec.error.empty() && path_placeholder && !spec.unix) {
    spec.error =
        "--server-cmd with {path} serves an AF_UNIX socket; the target must be unix: or "
        "unixgram: (or left out)";
  }
  if (spec.error.empty() && spec.unix && spec.unix_path.empty() && !path_placeholder) {
    spec.error = "--target " + target + " needs a path (or a --server-cmd with {path})";
  }
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

namespace {

// "" once the server accepts, else why not, with its command and what it said.
// ":\n" and the last `n` lines of `text`, saying how many came before them.
std::string tail(const std::string& text, size_t n) {
  std::vector<std::string_view> lines;
  std::string_view rest = text;
  while (!rest.empty()) {
    size_t nl = rest.find('\n');
    lines.push_back(rest.substr(0, nl));
    rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
  }
  size_t skip = lines.size() > n ? lines.size() - n : 0;
  std::string out = skip ? " (last " + std::to_string(n) + " lines; " + std::to_string(skip) +
                               " before them are in the report's server output)"
                         : "";
  out += ":";
  for (size_t i = skip; i < lines.size(); ++i) out += "\n" + std::string(lines[i]);
  return out;
}

// Starts p.server; on failure sets p.reason (one line, for the reports) and p.error (for the
// console: the command and the end of its stderr, where the reason usually is; the reports
// keep all of it).
void start_server(Prepared& p) {
  std::string e = p.server->start_and_wait(std::chrono::seconds(10));
  if (e.empty()) return;
  p.reason = "the server did not start: " + e;
  p.error = p.reason + "\n  command: " + p.server->command_line();
  auto output = p.server->output();
  if (!output.stderr_text.empty()) p.error += "\n  its stderr" + tail(output.stderr_text, 20);
}

// A target on an AF_UNIX socket: reached, or served by --server-cmd on a fresh path in a
// private directory (the ManagedServer removes it).
Prepared prepare_unix(const TargetSpec& spec, const std::string& server_cmd, bool tcp, bool udp) {
  Prepared p;
  bool dgram = spec.unix_dgram.value_or(udp && !tcp);
  p.unix_type = dgram ? SOCK_DGRAM : SOCK_STREAM;
  std::string path = spec.unix_path, dir;
  if (path.empty()) {
    const char* tmp = std::getenv("TMPDIR");
    std::string templ = std::string(tmp && *tmp ? tmp : "/tmp") + "/sockspec-XXXXXX";
    if (!mkdtemp(templ.data())) {
      p.error = "mkdtemp " + templ + ": " + errno_name(errno);
      return p;
    }
    dir = templ;
    path = dir + "/server.sock";
    if (path.size() > 107) {
      std::filesystem::remove(dir);
      p.error = "the socket path " + path + " is too long for AF_UNIX (set TMPDIR shorter)";
      return p;
    }
  }
  std::string kind = dgram ? "unixgram:" : "unix:";
  p.target.name = kind + path;
  p.target.host = path;
  p.target.addr = net::unix_address(path);
  if (server_cmd.empty()) {
    net::NetError e;
    if (dgram && !unix_socket_bound(path, SOCK_DGRAM)) {
      p.error = "target " + p.target.name + " cannot be reached: no datagram socket is bound there";
    } else if (!dgram && (e = net::probe_connect(p.target.addr, 2000)).err) {
      p.error = "target " + p.target.name + " cannot be reached: " + e.to_string();
    }
    return p;
  }
  p.server = std::make_unique<ManagedServer>(server_cmd, p.target.addr, !dgram, dgram, dir);
  start_server(p);
  return p;
}

}  // namespace

Prepared prepare_target(const TargetSpec& spec, const std::string& target_text,
                        const std::string& server_cmd, const std::string& self_exe, bool tcp,
                        bool udp, int netns_fd, bool defer_tcp_check, ServerEnv server_env) {
  if (spec.unix) return prepare_unix(spec, server_cmd, tcp, udp);
  Prepared p;
  if (spec.builtin.empty() && server_cmd.empty()) {
    Reach r = reach_target(target_text, spec.host, spec.port, tcp, defer_tcp_check);
    if (!r.error.empty())
      p.error = p.reason = "target " + target_text + " cannot be reached: " + r.error;
    p.target = r.target;
    p.target.tls = spec.tls;
    p.reach_unchecked = tcp && !r.probed && r.error.empty();
    return p;
  }
  std::string host = spec.host.empty() ? "127.0.0.1" : spec.host;
  auto res = net::resolve(host, spec.port, SOCK_STREAM);
  if (res.addrs.empty()) {
    p.error = p.reason = res.error;
    return p;
  }
  net::SockAddr addr = res.addrs.front();
  std::string cmd = server_cmd;
  for (size_t at; (at = cmd.find("{host}")) != std::string::npos;) cmd.replace(at, 6, addr.host());
  std::string private_dir;
  if (!spec.builtin.empty()) {
    cmd = shell_quote(self_exe) + " serve " + spec.builtin + " --transport " +
          (spec.tls ? "tcp" : "both") + " --bind " + shell_quote(addr.host()) + " --port {port}";
    if (spec.tls) {
      // The reference server makes a throw-away certificate; the run trusts that one only.
      const char* tmp = std::getenv("TMPDIR");
      std::string templ = std::string(tmp && *tmp ? tmp : "/tmp") + "/sockspec-tls-XXXXXX";
      if (!mkdtemp(templ.data())) {
        p.error = p.reason = "mkdtemp " + templ + ": " + errno_name(errno);
        return p;
      }
      private_dir = templ;
      p.tls_ca = private_dir + "/server-cert.pem";
      cmd += " --tls --cert-out " + shell_quote(p.tls_ca);
    }
  }
  if (spec.port == 0) {
    // In a namespace of its own every port is free; any number loopback has free will do.
    net::SockAddr here = addr;
    if (netns_fd >= 0) here = net::resolve("127.0.0.1", 0, SOCK_STREAM).addrs.front();
    addr.set_port(pick_free_port(here));
  }
  p.server = std::make_unique<ManagedServer>(cmd, addr, tcp, udp && !spec.tls, private_dir);
  if (netns_fd >= 0) p.server->set_netns(netns_fd);
  p.server->set_env(std::move(server_env));
  start_server(p);
  if (!p.error.empty()) return p;
  p.target.name = target_text.empty() ? addr.to_string() : target_text;
  p.target.host = host;
  p.target.addr = addr;
  p.target.tls = spec.tls;
  return p;
}

void apply_tls(Prepared& p, const net::TlsSettings& run_settings) {
  p.target.tls_settings = run_settings;
  if (p.target.tls_settings.ca_file.empty() && p.target.tls_settings.verify)
    p.target.tls_settings.ca_file = p.tls_ca;
}

Reached reach_seen(const reports::CaseResult& c, const std::string& target_addr, std::string* why) {
  // The step's message names the peer ("connect 127.0.0.1:7: ECONNREFUSED"): a connect to
  // another address (a case's own listener) says nothing about the target.
  auto to_target = [&](const reports::StepResult& s) {
    if (s.op != "connect") return false;
    for (size_t at = s.message.find(target_addr); at != std::string::npos;
         at = s.message.find(target_addr, at + 1)) {
      size_t end = at + target_addr.size();  // 127.0.0.1:7 is not 127.0.0.1:7007
      if (end == s.message.size() || !std::isdigit(static_cast<unsigned char>(s.message[end])))
        return true;
    }
    return false;
  };
  for (const auto& s : c.steps) {
    if (!to_target(s)) continue;
    if (s.verdict == reports::Verdict::pass) return Reached::yes;
    static constexpr const char* kAbsent[] = {"ECONNREFUSED", "ETIMEDOUT", "EHOSTUNREACH",
                                              "ENETUNREACH"};
    if (std::find(std::begin(kAbsent), std::end(kAbsent), s.errno_name) != std::end(kAbsent)) {
      if (why) *why = s.message;
      return Reached::no;
    }
  }
  return Reached::unknown;
}

}  // namespace sockspec::runner
