#include "engine/sender.h"

#include "engine/resolve.h"

namespace sockspec::engine {

bool SenderRule::accepts(const net::SockAddr& from) const {
  switch (kind) {
    case Kind::any:
      return true;
    case Kind::any_port:
      return from.family() == addr.family() && from.host() == addr.host();
    case Kind::exact:
      return from == addr;
  }
  return false;
}

std::string SenderRule::describe() const {
  switch (kind) {
    case Kind::any:
      return "any sender";
    case Kind::any_port: {
      bool v6 = addr.family() == AF_INET6;
      return (v6 ? "[" : "") + addr.host() + (v6 ? "]" : "") + ":*";
    }
    case Kind::exact:
      return addr.to_string();
  }
  return "";
}

SenderOr resolve_sender(const std::optional<scenario::Template>& from, const net::SockAddr& peer,
                        const scenario::VarValues& vars, const Target& target) {
  using K = SenderRule::Kind;
  if (!from) return {{K::exact, peer}, ""};
  auto x = scenario::expand(from->text, vars);
  if (!x.error.empty()) return {{}, x.error};
  if (x.text == "any") return {{K::any, {}}, ""};
  if (x.text == "target:*") return {{K::any_port, target.addr}, ""};
  if (x.text.size() > 2 && x.text.ends_with(":*")) {
    // Any port of HOST: resolved as HOST:0; only the address is compared.
    scenario::Template host_port{x.text.substr(0, x.text.size() - 2) + ":0"};
    // The text is already expanded: escape a `${` that came from a value so it stays text.
    for (size_t at = 0; (at = host_port.text.find("${", at)) != std::string::npos; at += 3) {
      host_port.text.insert(at, "$");
    }
    auto a = resolve_endpoint(host_port, vars, target, SOCK_DGRAM);
    if (!a.error.empty()) return {{}, "from " + x.text + ": " + a.error};
    return {{K::any_port, a.addr}, ""};
  }
  auto a = resolve_endpoint(*from, vars, target, SOCK_DGRAM);
  if (!a.error.empty()) return {{}, a.error};
  return {{K::exact, a.addr}, ""};
}

}  // namespace sockspec::engine
