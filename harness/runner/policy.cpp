#include "runner/policy.h"

#include <fnmatch.h>

#include <algorithm>
#include <cstdio>
#include <sstream>

#include "scenario/endpoint.h"

namespace sockspec::runner {

ExpectFail parse_expect_fail(const std::string& text, const std::string& file) {
  ExpectFail out;
  std::istringstream in(text);
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    auto hash = line.find('#');
    if (hash != std::string::npos) line.resize(hash);
    auto first = line.find_first_not_of(" \t\r");
    if (first == std::string::npos) continue;
    auto end = line.find_first_of(" \t", first);
    std::string id = line.substr(first, end == std::string::npos ? std::string::npos : end - first);
    std::string reason;
    if (end != std::string::npos) {
      auto r = line.find_first_not_of(" \t", end);
      if (r != std::string::npos) reason = line.substr(r);
      while (!reason.empty() && (reason.back() == '\r' || reason.back() == ' ')) reason.pop_back();
    }
    std::string where = file + ":" + std::to_string(n) + ": ";
    if (id.find('/') == std::string::npos) {
      out.errors.push_back(where + "expected SUITE/CASE-ID followed by a reason, got '" + id + "'");
    } else if (reason.empty()) {
      out.errors.push_back(where + "'" + id + "' needs a reason after the id");
    } else if (!out.reasons.emplace(id, reason).second) {
      out.errors.push_back(where + "'" + id + "' is listed twice");
    }
  }
  return out;
}

Decided decide(reports::Verdict raw, const std::string& raw_reason, scenario::Level level,
               bool strict, const std::optional<std::string>& expected_failure) {
  using reports::Verdict;
  Verdict v = raw;
  if (raw == Verdict::fail && level != scenario::Level::must && !strict) v = Verdict::warn;
  if (expected_failure) {
    // "flaky: ..." marks a known failure that does not always happen: a pass is then a pass.
    bool flaky = expected_failure->rfind("flaky:", 0) == 0;
    if (v == Verdict::pass)
      return flaky ? Decided{Verdict::pass, ""} : Decided{Verdict::xpass, *expected_failure};
    if (v == Verdict::fail || v == Verdict::error || v == Verdict::warn) {
      return {Verdict::xfail, *expected_failure};
    }
  }
  return {v, raw_reason};
}

std::optional<std::string> policy_seen(const std::vector<std::string>& tags,
                                       const std::vector<reports::StepResult>& steps) {
  if (std::find(tags.begin(), tags.end(), "capacity") == tags.end()) return std::nullopt;
  // The step that failed first with an errno: a parallel step reports its failing client's
  // steps after its own summary, so look at every step rather than at the summary alone.
  for (const auto& s : steps) {
    if (s.verdict != reports::Verdict::fail || s.errno_name.empty()) continue;
    const std::string& e = s.errno_name;
    if (e == "ECONNREFUSED") return "connections refused (" + e + ")";
    if (e == "ECONNRESET" || e == "EPIPE") return "connections reset (" + e + ")";
    if (e == "ETIMEDOUT" && s.op == "connect")
      return "connects not accepted in time (SYNs dropped: the listen queue was full)";
    // A connection that never saw a byte: what a full listen queue does to the handshake's
    // last ACK (the client believes it is connected; the server never accepted it).
    if (e == "ETIMEDOUT" && s.op == "expect" && s.bytes_received == 0)
      return "connections never served (no byte within the bound: a full listen queue drops "
             "the handshake's last ACK)";
    return std::nullopt;  // the first failure is something else: judged as it is
  }
  return std::nullopt;
}

bool selected(const Selection& s, const std::string& full_id,
              const std::vector<std::string>& tags) {
  bool by_filter =
      s.filters.empty() ||
      std::any_of(s.filters.begin(), s.filters.end(), [&](const std::string& g) {
        // A bare suite name selects the whole suite.
        return fnmatch(g.c_str(), full_id.c_str(), 0) == 0 || full_id.rfind(g + "/", 0) == 0;
      });
  bool by_tag =
      s.tags.empty() || std::any_of(s.tags.begin(), s.tags.end(), [&](const std::string& t) {
        return std::find(tags.begin(), tags.end(), t) != tags.end();
      });
  return by_filter && by_tag;
}

namespace {
using scenario::Step;
using scenario::Template;
using scenario::Transport;

// An address a step names that is neither the target nor an AF_UNIX name.
bool names_ip_address(const std::optional<Template>& t) {
  // "any" and "target:*" (an expect's sender) fit any target.
  return t && t->text != "target" && t->text != "any" && t->text != "target:*" &&
         !scenario::unix_prefix(t->text);
}

bool mentions_target_port(const Template& t) {
  return t.text.find("${target.port}") != std::string::npos;
}

std::optional<std::string> unix_step_problem(const Step& s, Transport target) {
  const char* kinds[] = {"stream (TCP-like)", "datagram (UDP-like)"};
  auto other_kind = [&](Transport t) -> std::optional<std::string> {
    if (t == target) return std::nullopt;
    return std::string("uses a ") + kinds[t == Transport::udp] + " socket, and the target is a " +
           kinds[target == Transport::udp] + " AF_UNIX socket";
  };
  auto tcp_options = [](const scenario::SocketOptions& o) -> std::optional<std::string> {
    if (o.cork || o.nodelay) return "sets TCP options, which AF_UNIX sockets do not have";
    return std::nullopt;
  };
  const std::string ip = "names an IP address (HOST:PORT), and the target is an AF_UNIX socket";
  if (auto* c = std::get_if<scenario::ConnectOp>(&s.op)) {
    if (auto k = other_kind(c->transport.value_or(Transport::tcp))) return k;
    if (names_ip_address(c->to) || names_ip_address(c->bind)) return ip;
    return tcp_options(c->options);
  }
  if (auto* o = std::get_if<scenario::OpenOp>(&s.op)) {
    if (auto k = other_kind(Transport::udp)) return k;
    if (names_ip_address(o->bind)) return ip;
  }
  if (auto* l = std::get_if<scenario::ListenOp>(&s.op)) {
    if (auto k = other_kind(l->transport.value_or(Transport::tcp))) return k;
    if (names_ip_address(l->bind)) return ip;
    return tcp_options(l->options);
  }
  if (auto* x = std::get_if<scenario::SendOp>(&s.op)) {
    if (names_ip_address(x->to)) return ip;
    if (mentions_target_port(x->payload.text))
      return "uses ${target.port}, and an AF_UNIX target has none";
  }
  if (auto* e = std::get_if<scenario::ExpectOp>(&s.op)) {
    if (names_ip_address(e->from)) return ip;
    auto* r = std::get_if<scenario::RegexMatch>(&e->matcher.kind);
    auto* p = std::get_if<scenario::Payload>(&e->matcher.kind);
    if ((r && mentions_target_port(r->pattern)) || (p && mentions_target_port(p->text)))
      return "uses ${target.port}, and an AF_UNIX target has none";
  }
  return std::nullopt;
}
}  // namespace

std::optional<std::string> unix_skip_reason(const scenario::Case& c, bool target_dgram) {
  for (const auto& need : c.requires_) {
    if (need == "ipv4" || need == "ipv6" || need == "inet")
      return "requires " + need + ", and the target is an AF_UNIX socket";
  }
  Transport target = target_dgram ? Transport::udp : Transport::tcp;
  std::optional<std::string> why;
  scenario::any_step(c.steps, [&](const Step& s) {
    why = unix_step_problem(s, target);
    return why.has_value();
  });
  return why;
}

std::string tls_flags(const net::TlsSettings& s) {
  std::string out;
  auto flag = [&](const char* name, const std::string& v) {
    if (!v.empty()) out += std::string(" ") + name + " " + shell_quote(v);
  };
  flag("--tls-ca", s.ca_file);
  flag("--tls-cert", s.cert_file);
  flag("--tls-key", s.key_file);
  flag("--tls-sni", s.sni);
  std::string alpn;
  for (const auto& p : s.alpn) alpn += (alpn.empty() ? "" : ",") + p;
  flag("--tls-alpn", alpn);
  if (s.min_version) flag("--tls-min-version", net::tls_version_name(s.min_version));
  if (s.max_version) flag("--tls-max-version", net::tls_version_name(s.max_version));
  if (!s.verify) out += " --tls-insecure";
  if (s.resume != 1.0) {
    char share[32];
    std::snprintf(share, sizeof share, "%g", s.resume);
    flag("--tls-resume", share);
  }
  return out;
}

std::optional<std::string> tls_skip_reason(const scenario::Case& c) {
  bool udp = scenario::any_step(c.steps, [](const Step& s) {
    if (auto* k = std::get_if<scenario::ConnectOp>(&s.op))
      return k->transport.value_or(Transport::tcp) == Transport::udp && k->to.text == "target";
    return std::holds_alternative<scenario::OpenOp>(s.op);  // its sends go to the target
  });
  if (udp) return "sends UDP to the target, and a tls: target speaks TLS over TCP only (no DTLS)";
  // Byte positions and FIN timing on the TCP stream: TLS adds its records and its close_notify
  // (the end of the stream a reader sees), so what such a case asserts is not what happens.
  bool tcp_bytes = scenario::any_step(c.steps, [](const Step& s) {
    auto* i = std::get_if<scenario::ImpairOp>(&s.op);
    if (!i) return false;
    for (const auto* d : {&i->spec.to_server, &i->spec.to_client}) {
      if (d->reset_after_bytes || d->close_after_bytes || d->slow_close.count() > 0) return true;
    }
    return false;
  });
  if (tcp_bytes)
    return "impairs the TCP stream at byte positions or delays its FIN, which TLS's records and "
           "close_notify change";
  return std::nullopt;
}

std::string shell_quote(const std::string& s) {
  bool plain = !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) ||
           std::string_view("-_./:=@,+").find(c) != std::string_view::npos;
  });
  if (plain) return s;
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out.push_back(c);
    }
  }
  return out + "'";
}

}  // namespace sockspec::runner
