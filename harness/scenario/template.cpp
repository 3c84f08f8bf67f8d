#include "scenario/template.h"

#include "common/codec.h"

namespace sockspec::scenario {

namespace {

bool valid_name(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.';
    if (!ok) return false;
  }
  return true;
}

bool is_identifier(std::string_view s) {
  if (s.empty() || (s[0] >= '0' && s[0] <= '9')) return false;
  for (char c : s) {
    bool ok =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    if (!ok) return false;
  }
  return true;
}

// Built-in variables and the roots of the dotted ones: no capture may take these names.
constexpr std::string_view kBuiltins[] = {"i", "client", "seed", "target", "conn", "env"};

bool is_builtin(std::string_view v) {
  for (auto b : kBuiltins) {
    if (v == b) return true;
  }
  return false;
}

std::optional<VarRef> classify(std::string_view v) {
  using K = VarRef::Kind;
  if (v == "target.host") return VarRef{K::target_host, ""};
  if (v == "target.port") return VarRef{K::target_port, ""};
  if (v == "i") return VarRef{K::i, ""};
  if (v == "client") return VarRef{K::client, ""};
  if (v == "seed") return VarRef{K::seed, ""};
  if (v.starts_with("env.") && valid_name(v.substr(4)))
    return VarRef{K::env, std::string(v.substr(4))};
  constexpr std::string_view kConn = "conn.", kPort = ".local_port";
  if (v.starts_with(kConn) && v.ends_with(kPort) && v.size() > kConn.size() + kPort.size()) {
    auto name = v.substr(kConn.size(), v.size() - kConn.size() - kPort.size());
    if (valid_name(name)) return VarRef{K::conn_local_port, std::string(name)};
  }
  if (is_identifier(v) && !is_builtin(v)) return VarRef{K::capture, std::string(v)};
  return std::nullopt;
}

// Calls on_var(name, ref) for each ${...}; on_text for the text between. Returns an error or "".
template <typename OnText, typename OnVar>
std::string walk(std::string_view text, OnText on_text, OnVar on_var) {
  size_t pos = 0;
  while (pos < text.size()) {
    size_t open = text.find("${", pos);
    if (open == std::string_view::npos) {
      on_text(text.substr(pos));
      break;
    }
    on_text(text.substr(pos, open - pos));
    size_t close = text.find('}', open + 2);
    if (close == std::string_view::npos) return "unterminated ${ at offset " + std::to_string(open);
    auto name = text.substr(open + 2, close - open - 2);
    auto ref = classify(name);
    if (!ref) {
      return "unknown variable ${" + std::string(name) +
             "} (known: target.host, target.port, conn.NAME.local_port, i, client, seed, "
             "env.NAME, and names bound by capture)";
    }
    std::string err = on_var(*ref);
    if (!err.empty()) return err;
    pos = close + 1;
  }
  return "";
}

}  // namespace

std::string Captures::describe() const {
  constexpr size_t kShown = 64;
  std::string s;
  for (const auto& [name, value] : values_) {
    if (!s.empty()) s += ", ";
    s += name + "=\"" + escape_bytes(std::string_view(value).substr(0, kShown)) + "\"";
    if (value.size() > kShown) s += "... (" + std::to_string(value.size()) + " bytes)";
  }
  return s;
}

std::string capture_name_problem(std::string_view name) {
  if (!is_identifier(name)) {
    return "must be a name of letters, digits and _ not starting with a digit";
  }
  if (is_builtin(name)) return "is a built-in variable; pick another name";
  return "";
}

VarScan scan_vars(std::string_view text) {
  VarScan scan;
  scan.error = walk(
      text, [](std::string_view) {},
      [&](const VarRef& r) {
        scan.refs.push_back(r);
        return std::string();
      });
  return scan;
}

Expanded expand(std::string_view text, const VarValues& values, Quote quote) {
  Expanded out;
  using K = VarRef::Kind;
  out.error = walk(
      text, [&](std::string_view part) { out.text.append(part); },
      [&](const VarRef& r) -> std::string {
        switch (r.kind) {
          case K::target_host:
            out.text += values.target_host;
            return "";
          case K::target_port:
            out.text += std::to_string(values.target_port);
            return "";
          case K::seed:
            out.text += std::to_string(values.seed);
            return "";
          case K::i:
            if (!values.i) return "${i} used outside a repeat";
            out.text += std::to_string(*values.i);
            return "";
          case K::client:
            if (!values.client) return "${client} used outside a parallel";
            out.text += std::to_string(*values.client);
            return "";
          case K::env: {
            auto v = values.env ? values.env(r.name) : std::nullopt;
            if (!v) return "environment variable " + r.name + " is not set";
            out.text += *v;
            return "";
          }
          case K::capture: {
            const std::string* v = values.captures ? values.captures->find(r.name) : nullptr;
            if (!v) return "${" + r.name + "} has not been captured";
            out.text += quote ? quote(*v) : *v;
            return "";
          }
          case K::conn_local_port: {
            auto p = values.conn_local_port ? values.conn_local_port(r.name) : std::nullopt;
            if (!p) return "conn '" + r.name + "' is not open, so it has no local port";
            out.text += std::to_string(*p);
            return "";
          }
        }
        return "";
      });
  return out;
}

}  // namespace sockspec::scenario
