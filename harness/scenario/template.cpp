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

}  // namespace

std::optional<VarRef> parse_ref(std::string_view v) {
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

std::string unknown_var_message(std::string_view name) {
  return "unknown variable ${" + std::string(name) +
         "} (known: target.host, target.port, conn.NAME.local_port, i, client, seed, env.NAME, "
         "and names bound by capture or set)";
}

namespace {

// Calls on_var(ref) for each ${...}; on_text for the text between (`$${` is the text `${`).
// Returns an error or "".
template <typename OnText, typename OnVar>
std::string walk(std::string_view text, OnText on_text, OnVar on_var) {
  size_t pos = 0;
  while (pos < text.size()) {
    size_t open = text.find("${", pos);
    if (open == std::string_view::npos) {
      on_text(text.substr(pos));
      break;
    }
    if (open > pos && text[open - 1] == '$') {  // $${: a literal ${
      on_text(text.substr(pos, open - pos - 1));
      on_text("${");
      pos = open + 2;
      continue;
    }
    on_text(text.substr(pos, open - pos));
    size_t close = text.find('}', open + 2);
    if (close == std::string_view::npos) {
      return "unterminated ${ at offset " + std::to_string(open) + " (write $${ for a literal ${)";
    }
    auto name = text.substr(open + 2, close - open - 2);
    auto ref = parse_ref(name);
    if (!ref) return unknown_var_message(name);
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
    if (value.is_integer()) {
      s += name + "=" + std::to_string(value.integer);
      continue;
    }
    s += name + "=\"" + escape_bytes(std::string_view(value.bytes).substr(0, kShown)) + "\"";
    if (value.bytes.size() > kShown) s += "... (" + std::to_string(value.bytes.size()) + " bytes)";
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

std::string escape_literal(std::string_view literal) {
  std::string t;
  for (size_t i = 0; i < literal.size(); ++i) {
    if (literal.compare(i, 2, "${") == 0) t += '$';
    t += literal[i];
  }
  return t;
}

std::string ref_text(const VarRef& r) {
  using K = VarRef::Kind;
  switch (r.kind) {
    case K::target_host:
      return "${target.host}";
    case K::target_port:
      return "${target.port}";
    case K::conn_local_port:
      return "${conn." + r.name + ".local_port}";
    case K::i:
      return "${i}";
    case K::client:
      return "${client}";
    case K::seed:
      return "${seed}";
    case K::env:
      return "${env." + r.name + "}";
    case K::capture:
      return "${" + r.name + "}";
  }
  return "${?}";
}

bool always_integer(const VarRef& r) {
  using K = VarRef::Kind;
  return r.kind == K::target_port || r.kind == K::conn_local_port || r.kind == K::i ||
         r.kind == K::client || r.kind == K::seed;
}

Lookup lookup(const VarRef& r, const VarValues& values) {
  using K = VarRef::Kind;
  auto integer = [](uint64_t v) -> Lookup {
    // ${seed} may exceed int64; it is written as decimal text then, and is no number.
    if (v > static_cast<uint64_t>(INT64_MAX))
      return {Value{Value::Type::bytes, std::to_string(v), 0}, ""};
    return {Value{Value::Type::integer, "", static_cast<int64_t>(v)}, ""};
  };
  auto bytes = [](std::string b) -> Lookup {
    return {Value{Value::Type::bytes, std::move(b), 0}, ""};
  };
  auto none = [](std::string why) -> Lookup { return {Value{}, std::move(why)}; };
  switch (r.kind) {
    case K::target_host:
      return bytes(values.target_host);
    case K::target_port:
      return integer(values.target_port);
    case K::seed:
      return integer(values.seed);
    case K::i:
      if (!values.i) return none("${i} used outside a repeat");
      return integer(*values.i);
    case K::client:
      if (!values.client) return none("${client} used outside a parallel");
      return integer(*values.client);
    case K::env: {
      auto v = values.env ? values.env(r.name) : std::nullopt;
      if (!v) return none("environment variable " + r.name + " is not set");
      return bytes(std::move(*v));
    }
    case K::capture: {
      const Value* v = values.captures ? values.captures->find(r.name) : nullptr;
      if (!v) return none("${" + r.name + "} has not been captured");
      return {*v, ""};
    }
    case K::conn_local_port: {
      auto p = values.conn_local_port ? values.conn_local_port(r.name) : std::nullopt;
      if (!p) return none("conn '" + r.name + "' is not open, so it has no local port");
      return integer(*p);
    }
  }
  return none("unknown variable");
}

Expanded expand(std::string_view text, const VarValues& values, Quote quote) {
  Expanded out;
  out.error = walk(
      text, [&](std::string_view part) { out.text.append(part); },
      [&](const VarRef& r) -> std::string {
        if (r.kind == VarRef::Kind::capture) {  // no copy: a virtual user's hot path
          const Value* v = values.captures ? values.captures->find(r.name) : nullptr;
          if (!v) return "${" + r.name + "} has not been captured";
          if (v->is_integer()) {
            out.text += std::to_string(v->integer);
          } else {
            out.text += quote ? quote(v->bytes) : v->bytes;
          }
          return "";
        }
        auto l = lookup(r, values);
        if (!l.error.empty()) return l.error;
        out.text += l.value.text();
        return "";
      });
  return out;
}

}  // namespace sockspec::scenario
