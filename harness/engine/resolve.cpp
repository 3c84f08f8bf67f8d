#include "engine/resolve.h"

#include <algorithm>

#include "codec/ints.h"
#include "common/codec.h"
#include "payload/payload.h"
#include "scenario/endpoint.h"
#include "scenario/expr.h"

namespace sockspec::engine {

namespace {
// The text was written in the charset (validate checks the text as written), so a value a
// variable inserted is what failed: the message names it.
std::string encoding_culprit(const scenario::Payload& p, const scenario::VarValues& vars,
                             const std::string& error) {
  for (const auto& ref : scenario::scan_vars(p.text.text).refs) {
    auto l = scenario::lookup(ref, vars);
    if (!l.error.empty()) continue;
    std::string v = l.value.text();
    if (payload::encode_text(v, p.encoding).error.empty()) continue;
    constexpr size_t kShown = 40;
    return scenario::ref_text(ref) + " = \"" + escape_bytes(std::string_view(v).substr(0, kShown)) +
           (v.size() > kShown ? "..." : "") + "\" cannot be encoded as " + p.encoding + " (" +
           error + ")";
  }
  return error;
}

}  // namespace

codec::Resolver part_resolver(const scenario::VarValues& vars) {
  codec::Resolver r;
  r.seed = vars.seed;
  r.expand = [&vars](std::string_view text, codec::Bytes& out) {
    auto x = scenario::expand(text, vars);
    out = std::move(x.text);
    return x.error;
  };
  // A hole in hex takes a bytes variable's bytes. An integer has no width there, so it is
  // refused rather than guessed: a u8..u64 part says how many bytes it takes.
  r.hex_hole = [&vars](std::string_view name, codec::Bytes& out) -> std::string {
    auto ref = scenario::parse_ref(name);
    if (!ref) return scenario::unknown_var_message(name);
    auto l = scenario::lookup(*ref, vars);
    if (!l.error.empty()) return l.error;
    if (l.value.is_integer()) {
      return "${" + std::string(name) + "} is an integer (" + std::to_string(l.value.integer) +
             "), which has no width in hex; write it as a part of its own, e.g. {\"u16\": \"${" +
             std::string(name) + "}\"}";
    }
    out = l.value.bytes;
    return "";
  };
  // Parsed again each time it runs; the parser has already checked its syntax and names.
  r.integer = [&vars](std::string_view source, int64_t& out) -> std::string {
    auto p = scenario::parse_expr(source);
    if (!p.expr) return p.error;
    auto v = scenario::eval(*p.expr, vars);
    out = v.value;
    return v.error;
  };
  return r;
}

namespace {
BytesOr parts_bytes(const codec::Parts& parts, const scenario::VarValues& vars) {
  auto res = codec::resolve(parts, part_resolver(vars));
  if (!res.error.empty()) return {"", res.error};
  auto enc = codec::encode(res.parts);
  return {std::move(enc.bytes), std::move(enc.error)};
}
}  // namespace

BytesOr payload_bytes(const scenario::Payload& p, const scenario::VarValues& vars) {
  using K = scenario::Payload::Kind;
  switch (p.kind) {
    case K::literal:
      return {p.literal, ""};
    case K::fill:
      return {payload::fill_bytes(p.fill, vars.seed), ""};
    case K::text: {
      auto x = scenario::expand(p.text.text, vars);
      if (!x.error.empty()) return {"", x.error};
      auto enc = payload::encode_text(x.text, p.encoding);
      if (!enc.error.empty()) return {"", encoding_culprit(p, vars, enc.error)};
      return {enc.bytes, ""};
    }
    case K::parts:
      return parts_bytes(p.parts, vars);
  }
  return {"", "unknown payload kind"};
}

namespace {
struct Count {
  uint64_t value = 0;
  std::string error;
};
// A byte count computed when the step runs: `min`..1 GiB, as the parser allows for numbers.
Count count_of(const scenario::Expr& e, const char* what, int64_t min,
               const scenario::VarValues& vars) {
  constexpr int64_t kMax = int64_t{1} << 30;
  auto v = scenario::eval(e, vars);
  if (!v.error.empty()) return {0, std::string(what) + ": " + v.error};
  if (v.value < min || v.value > kMax) {
    return {0, std::string(what) + " \"" + e.source + "\" is " + std::to_string(v.value) +
                   ", outside " + std::to_string(min) + ".." + std::to_string(kMax)};
  }
  return {static_cast<uint64_t>(v.value), ""};
}
}  // namespace

MatcherOr resolve_matcher(const scenario::Matcher& m, const Conn& conn,
                          const scenario::VarValues& vars) {
  if (auto* p = std::get_if<scenario::Payload>(&m.kind)) {
    auto b = payload_bytes(*p, vars);
    if (!b.error.empty()) return {std::nullopt, b.error};
    return {match::Exact{b.bytes}, ""};
  }
  if (auto* e = std::get_if<scenario::EchoMatch>(&m.kind)) {
    bool tcp = conn.transport == scenario::Transport::tcp;
    if (tcp && conn.sent_overflow) {
      return {std::nullopt,
              "more than " + std::to_string(kMaxEchoBytes >> 20) +
                  " MiB sent since the last expect; match a fill payload instead of echo"};
    }
    const std::string& sent = tcp ? conn.sent_since_expect : conn.last_datagram;
    return {match::Exact{e->upper ? payload::ascii_upper(sent) : sent}, ""};
  }
  if (auto* l = std::get_if<scenario::LengthMatch>(&m.kind)) {
    if (!l->exact) return {match::Length{l->min, l->max}, ""};
    auto n = count_of(*l->exact, "length", 0, vars);
    if (!n.error.empty()) return {std::nullopt, n.error};
    return {match::Length{n.value, n.value}, ""};
  }
  if (auto* pm = std::get_if<scenario::PartsMatch>(&m.kind)) {
    auto res = codec::resolve(pm->parts, part_resolver(vars));
    if (!res.error.empty()) return {std::nullopt, res.error};
    return {match::Fields{std::make_shared<const codec::Parts>(std::move(res.parts))}, ""};
  }
  const auto& r = std::get<scenario::RegexMatch>(m.kind);
  size_t groups = r.groups_needed();
  std::optional<uint64_t> bytes = r.bytes;
  if (r.bytes_expr) {
    auto n = count_of(*r.bytes_expr, "bytes", 1, vars);
    if (!n.error.empty()) return {std::nullopt, n.error};
    bytes = n.value;
  }
  if (r.compiled) return {match::Regex{r.compiled, r.until, bytes, groups}, ""};
  // Captured values are quoted: ${token} in a regex matches the token's bytes exactly.
  auto x = scenario::expand(r.pattern.text, vars, match::quote_literal);
  if (!x.error.empty()) return {std::nullopt, x.error};
  auto c = match::compile_regex(x.text);
  if (!c.pattern) return {std::nullopt, "regex /" + x.text + "/: " + c.error};
  if (groups > static_cast<size_t>(c.pattern->groups()) + 1) {
    return {std::nullopt, "capture: group " + std::to_string(groups - 1) + " does not exist: /" +
                              x.text + "/ has " + std::to_string(c.pattern->groups()) +
                              " group(s)"};
  }
  return {match::Regex{c.pattern, r.until, bytes, groups}, ""};
}

std::string bind_captures(const scenario::Matcher& m, const match::Outcome& matched,
                          scenario::Captures& into) {
  for (const auto& f : matched.fields) {
    if (f.integer) {
      into.set_integer(f.name, *f.integer);
    } else {
      into.set(f.name, f.bytes);
    }
  }
  const auto* r = std::get_if<scenario::RegexMatch>(&m.kind);
  if (!r) return "";
  for (const auto& cap : r->capture) {
    const auto& g = matched.groups.at(cap.group);
    if (!g) {
      return "capture " + cap.name + ": group " + std::to_string(cap.group) + " of /" +
             r->pattern.text + "/ took no part in the match, so it has no value";
    }
    into.set(cap.name, *g);
  }
  return "";
}

AddrOr resolve_endpoint(const scenario::Template& t, const scenario::VarValues& vars,
                        const Target& target, int socktype) {
  auto x = scenario::expand(t.text, vars);
  if (!x.error.empty()) return {{}, x.error};
  auto ep = scenario::parse_endpoint(x.text);
  if (!ep.endpoint) return {{}, ep.error};
  if (ep.endpoint->is_target) return {target.addr, ""};
  if (ep.endpoint->is_unix()) return {net::unix_address(ep.endpoint->unix_path), ""};
  auto res = net::resolve(ep.endpoint->host, ep.endpoint->port, socktype);
  if (res.addrs.empty()) return {{}, res.error};
  for (const auto& a : res.addrs) {
    if (a.family() == target.addr.family()) return {a, ""};
  }
  return {res.addrs.front(), ""};
}

reports::Mismatch make_mismatch(std::string_view expected, std::string_view actual, size_t offset) {
  constexpr size_t kBefore = 16, kAfter = 32;
  size_t start = offset > kBefore ? offset - kBefore : 0;
  auto window = [&](std::string_view s) {
    if (start >= s.size()) return std::string_view();
    return s.substr(start, std::min(s.size() - start, offset - start + kAfter));
  };
  reports::Mismatch m;
  m.offset = offset;
  m.expected_size = expected.size();
  m.actual_size = actual.size();
  m.window_start = start;
  m.expected_hex = to_hex(window(expected));
  m.actual_hex = to_hex(window(actual));
  m.expected_text = escape_bytes(window(expected));
  m.actual_text = escape_bytes(window(actual));
  return m;
}

}  // namespace sockspec::engine
