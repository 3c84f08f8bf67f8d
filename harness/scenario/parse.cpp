#include "scenario/parse.h"

#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "common/codec.h"
#include "payload/payload.h"
#include "scenario/endpoint.h"
#include "scenario/fields.h"
#include "scenario/template.h"

namespace sockspec::scenario {

using json = nlohmann::json;

namespace {

constexpr uint64_t kMaxTimeoutMs = 3'600'000;  // an hour: anything longer is a typo
constexpr uint64_t kMaxRepeat = 10'000'000;
constexpr uint64_t kMaxClients = 10'000;
// Nested repeats and parallels multiply: the bounds hold for the product, not for each level
// (10,000 clients in each of 10,000 parallel clients would be 10^8 connections).
constexpr uint64_t kMaxRuns = kMaxRepeat;       // times one step may run in a case
constexpr uint64_t kMaxFillBytes = 1ull << 30;  // 1 GiB

bool matches_charset(std::string_view s, bool allow_upper) {
  if (s.empty()) return false;
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
              c == '-' || (allow_upper && c >= 'A' && c <= 'Z');
    if (!ok) return false;
  }
  return true;
}

// What the validator knows of a named socket at a point in a step list.
struct ConnInfo {
  enum class Kind { stream, listener, udp_connected, udp_open };
  Kind kind;
  Transport transport;
};
using ConnScope = std::map<std::string, ConnInfo>;

struct StepContext {
  ConnScope conns;
  Transport default_transport;
  bool in_repeat = false;
  bool in_parallel = false;
  uint64_t clients = 1;              // product of the enclosing parallels' clients: alive at once
  uint64_t runs = 1;                 // product of the enclosing repeats and parallels
  std::set<std::string> captured{};  // names bound by `capture` in earlier steps
};

class Parser;

class Parser {
 public:
  explicit Parser(std::string file) : file_(file), sink_(std::move(file), errors_) {}
  std::vector<Diagnostic>& errors() { return errors_; }

  void error(const std::string& ptr, std::string msg) { sink_.error(ptr, std::move(msg)); }

  std::optional<Suite> suite(const json& root);
  Steps steps_in(const json& j, const std::string& ptr, StepContext& ctx) {
    return steps(j, ptr, ctx);
  }

 private:
  Case parse_case(const json& j, const std::string& ptr, const Suite& s,
                  std::set<std::string>& ids);
  Steps steps(const json& j, const std::string& ptr, StepContext& ctx);
  std::optional<Step> step(const json& j, const std::string& ptr, StepContext& ctx);
  std::optional<Op> op(Fields& f, const std::string& name, StepContext& ctx);

  std::optional<Template> templ(Fields& f, std::string_view key, bool required, StepContext& ctx);
  std::optional<Template> address(Fields& f, std::string_view key, bool required, StepContext& ctx);
  void check_vars(const std::string& text, const std::string& ptr, StepContext& ctx);
  std::optional<Transport> transport(Fields& f);
  SocketOptions options(Fields& f);
  std::optional<std::string> errno_field(Fields& f);
  std::optional<Payload> payload(Fields& f, StepContext& ctx, bool required);
  std::optional<Matcher> matcher(Fields& f, StepContext& ctx, const ConnInfo* conn);
  std::vector<Capture> captures(const json& j, const std::string& ptr, const RegexMatch& rm);
  std::optional<Fill> fill(const json& j, const std::string& ptr);
  const ConnInfo* use_conn(Fields& f, const StepContext& ctx, const std::string& name);
  // False (and reported at `ptr`) when `outer` × `count` exceeds `max`.
  bool within_product(const std::string& ptr, const char* what, uint64_t outer, uint64_t count,
                      uint64_t max) {
    if (count <= max / outer) return true;
    error(ptr, std::to_string(count) + " × " + std::to_string(outer) + " from the enclosing " +
                   "repeat/parallel steps exceeds the limit of " + std::to_string(max) + " " +
                   what);
    return false;
  }

  std::string file_;
  std::vector<Diagnostic> errors_;
  DiagnosticSink sink_;  // into errors_
  // This file's regexes: one compile per distinct pattern, all within one budget.
  match::RegexCache regexes_;
};

std::optional<Suite> Parser::suite(const json& root) {
  Fields f(sink_, root, "");
  if (!f.ok()) return std::nullopt;
  Suite s;
  s.file = file_;
  if (const json* fmt = f.take("format")) {
    if (!(fmt->is_number_integer() && fmt->get<int64_t>() == 1)) {
      error(f.ptr("format"), "must be 1 (the only format version), got " + show(*fmt));
    }
  } else {
    error("/format", "is required (use \"format\": 1)");
  }
  if (auto v = f.str("suite", true)) {
    if (!matches_charset(*v, false)) {
      error("/suite", "must match [a-z0-9._-]+, got " + show(*v));
    }
    s.suite = *v;
  }
  f.str("$schema", false);  // where an editor finds the JSON Schema; top level only
  s.title = f.str("title", false).value_or("");
  s.spec = f.str("spec", false).value_or("");
  if (auto v = f.str("service", false)) {
    if (!matches_charset(*v, false)) error("/service", "must match [a-z0-9._-]+, got " + show(*v));
    s.service = *v;
  }
  if (auto t = transport(f)) s.transport = *t;
  if (const json* d = f.take("defaults")) {
    Fields df(sink_, *d, "/defaults");
    if (auto t = df.uint("timeout_ms", false, 1, kMaxTimeoutMs)) s.default_timeout_ms = *t;
    df.reject_unknown("defaults");
  }
  const json* cases = f.take("cases");
  if (!cases) {
    error("/cases", "is required");
  } else if (!cases->is_array() || cases->empty()) {
    error("/cases", "must be a non-empty array of cases, got " + show(*cases));
  } else {
    std::set<std::string> ids;
    for (size_t i = 0; i < cases->size(); ++i) {
      s.cases.push_back(parse_case((*cases)[i], "/cases/" + std::to_string(i), s, ids));
    }
  }
  f.reject_unknown("a suite");
  return s;
}

Case Parser::parse_case(const json& j, const std::string& ptr, const Suite& s,
                        std::set<std::string>& ids) {
  Case c;
  c.pointer = ptr;
  Fields f(sink_, j, ptr);
  if (!f.ok()) return c;
  if (auto id = f.str("id", true)) {
    if (!matches_charset(*id, true)) {
      error(f.ptr("id"), "must match [A-Za-z0-9._-]+, got " + show(*id));
    } else if (!ids.insert(*id).second) {
      error(f.ptr("id"), "duplicate case id '" + *id + "' in suite '" + s.suite + "'");
    }
    c.id = *id;
  }
  c.title = f.str("title", false).value_or("");
  c.spec_ref = f.str("spec_ref", false).value_or("");
  if (auto lv = f.str("level", false)) {
    if (*lv == "must") {
      c.level = Level::must;
    } else if (*lv == "should") {
      c.level = Level::should;
    } else if (*lv == "may") {
      c.level = Level::may;
    } else {
      error(f.ptr("level"), "must be \"must\", \"should\" or \"may\", got " + show(*lv));
    }
  }
  auto string_list = [&](std::string_view key, std::vector<std::string>& out) {
    const json* v = f.take(key);
    if (!v) return;
    if (!v->is_array()) {
      error(f.ptr(key), "must be an array of strings, got " + show(*v));
      return;
    }
    for (size_t i = 0; i < v->size(); ++i) {
      if (!(*v)[i].is_string()) {
        error(f.ptr(key) + "/" + std::to_string(i), "must be a string, got " + show((*v)[i]));
      } else {
        out.push_back((*v)[i].get<std::string>());
      }
    }
  };
  string_list("tags", c.tags);
  string_list("requires", c.requires_);
  for (size_t i = 0; i < c.requires_.size(); ++i) {
    const auto& r = c.requires_[i];
    if (std::find(std::begin(kCapabilities), std::end(kCapabilities), r) ==
        std::end(kCapabilities)) {
      std::string known;
      for (const char* k : kCapabilities) known += (known.empty() ? "" : ", ") + std::string(k);
      error(f.ptr("requires") + "/" + std::to_string(i),
            "unknown capability " + show(r) + " (known: " + known + ")");
    }
  }
  c.timeout_ms = f.uint("timeout_ms", false, 1, kMaxTimeoutMs);
  if (const json* st = f.take("steps")) {
    StepContext ctx{{}, s.transport};
    c.steps = steps(*st, f.ptr("steps"), ctx);
  } else {
    error(f.ptr("steps"), "is required");
  }
  if (uses_server(c.steps) &&
      std::find(c.requires_.begin(), c.requires_.end(), "managed-server") == c.requires_.end()) {
    c.requires_.push_back("managed-server");  // a server step cannot run without one
  }
  f.reject_unknown("a case");
  return c;
}

Steps Parser::steps(const json& j, const std::string& ptr, StepContext& ctx) {
  Steps out;
  if (!j.is_array() || j.empty()) {
    error(ptr, "must be a non-empty array of steps, got " + show(j));
    return out;
  }
  for (size_t i = 0; i < j.size(); ++i) {
    if (auto s = step(j[i], ptr + "/" + std::to_string(i), ctx)) out.push_back(std::move(*s));
  }
  return out;
}

std::optional<Step> Parser::step(const json& j, const std::string& ptr, StepContext& ctx) {
  Fields f(sink_, j, ptr);
  if (!f.ok()) return std::nullopt;
  auto name = f.str("op", true);
  Step s;
  s.pointer = ptr;
  s.timeout_ms = f.uint("timeout_ms", false, 1, kMaxTimeoutMs);
  s.label = f.str("label", false).value_or("");
  if (!name) {
    f.reject_unknown("a step");
    return std::nullopt;
  }
  auto parsed = op(f, *name, ctx);
  f.reject_unknown("op '" + *name + "'");
  if (!parsed) return std::nullopt;
  s.op = std::move(*parsed);
  return s;
}

const ConnInfo* Parser::use_conn(Fields& f, const StepContext& ctx, const std::string& name) {
  auto it = ctx.conns.find(name);
  if (it == ctx.conns.end()) {
    std::string known;
    for (const auto& [n, _] : ctx.conns) known += (known.empty() ? "" : ", ") + n;
    error(f.ptr("conn"),
          "conn '" + name + "' is not open at this step" +
              (known.empty() ? std::string(" (no conn is open)") : " (open: " + known + ")") +
              (ctx.in_parallel ? "; each parallel client has its own conns" : ""));
    return nullptr;
  }
  return &it->second;
}

std::optional<Transport> Parser::transport(Fields& f) {
  auto t = f.str("transport", false);
  if (!t) return std::nullopt;
  if (*t == "tcp") return Transport::tcp;
  if (*t == "udp") return Transport::udp;
  error(f.ptr("transport"), "must be \"tcp\" or \"udp\", got " + show(*t));
  return std::nullopt;
}

SocketOptions Parser::options(Fields& f) {
  SocketOptions o;
  const json* v = f.take("options");
  if (!v) return o;
  Fields of(sink_, *v, f.ptr("options"));
  o.reuseaddr = of.boolean("reuseaddr");
  o.reuseport = of.boolean("reuseport");
  o.nodelay = of.boolean("nodelay");
  o.v6only = of.boolean("v6only");
  o.cork = of.boolean("cork");
  if (auto n = of.uint("rcvbuf", false, 1, 1u << 30)) o.rcvbuf = static_cast<int>(*n);
  if (auto n = of.uint("sndbuf", false, 1, 1u << 30)) o.sndbuf = static_cast<int>(*n);
  of.reject_unknown("options");
  return o;
}

std::optional<std::string> Parser::errno_field(Fields& f) {
  auto e = f.str("expect_error", false);
  if (e && !errno_from_name(*e)) {
    error(f.ptr("expect_error"), "is not an errno name (like ECONNREFUSED), got " + show(*e));
    return std::nullopt;
  }
  return e;
}

void Parser::check_vars(const std::string& text, const std::string& ptr, StepContext& ctx) {
  VarScan scan = scan_vars(text);
  if (!scan.error.empty()) {
    error(ptr, scan.error);
    return;
  }
  for (const auto& r : scan.refs) {
    if (r.kind == VarRef::Kind::i && !ctx.in_repeat)
      error(ptr, "${i} is only defined inside a repeat");
    if (r.kind == VarRef::Kind::client && !ctx.in_parallel) {
      error(ptr, "${client} is only defined inside a parallel");
    }
    if (r.kind == VarRef::Kind::conn_local_port && !ctx.conns.count(r.name)) {
      error(ptr, "${conn." + r.name + ".local_port}: conn '" + r.name + "' is not open here");
    }
    if (r.kind == VarRef::Kind::capture && !ctx.captured.count(r.name)) {
      std::string known;
      for (const auto& n : ctx.captured) known += (known.empty() ? "" : ", ") + n;
      error(ptr, "${" + r.name + "} is used before any step captures it" +
                     (known.empty() ? std::string() : " (captured so far: " + known + ")"));
    }
  }
}

std::optional<Template> Parser::templ(Fields& f, std::string_view key, bool required,
                                      StepContext& ctx) {
  auto s = f.str(key, required);
  if (!s) return std::nullopt;
  check_vars(*s, f.ptr(key), ctx);
  return Template{*s};
}

std::optional<Template> Parser::address(Fields& f, std::string_view key, bool required,
                                        StepContext& ctx) {
  auto t = templ(f, key, required, ctx);
  if (t && !t->has_vars()) {
    auto ep = parse_endpoint(t->text);
    if (!ep.endpoint) error(f.ptr(key), ep.error);
  }
  return t;
}

std::vector<Capture> Parser::captures(const json& j, const std::string& ptr, const RegexMatch& rm) {
  std::vector<Capture> out;
  if (!j.is_object() || j.empty()) {
    error(ptr, "must be an object of NAME: GROUP (0: the whole match), got " + show(j));
    return out;
  }
  for (const auto& [name, group] : j.items()) {
    std::string at = ptr + "/" + pointer_escape(name);
    if (auto why = capture_name_problem(name); !why.empty()) {
      error(at, "'" + name + "' " + why);
      continue;
    }
    if (!group.is_number_unsigned() || group.get<uint64_t>() > 1000) {
      error(at,
            "must be a group number (0: the whole match, 1: the first group), got " + show(group));
      continue;
    }
    auto g = group.get<uint32_t>();
    if (rm.compiled && static_cast<int>(g) > rm.compiled->groups()) {
      error(at, "group " + std::to_string(g) + " does not exist: /" + rm.pattern.text + "/ has " +
                    std::to_string(rm.compiled->groups()) + " group(s)");
      continue;
    }
    out.push_back({name, g});
  }
  return out;
}

std::optional<Fill> Parser::fill(const json& j, const std::string& ptr) {
  Fields f(sink_, j, ptr);
  if (!f.ok()) return std::nullopt;
  Fill out;
  auto bytes = f.uint("bytes", true, 0, kMaxFillBytes);
  if (bytes) out.bytes = *bytes;
  if (auto p = f.str("pattern", false)) {
    if (*p == "ascii") {
      out.pattern = FillPattern::ascii;
    } else if (*p == "zero") {
      out.pattern = FillPattern::zero;
    } else if (*p == "counter") {
      out.pattern = FillPattern::counter;
    } else if (*p == "random") {
      out.pattern = FillPattern::random;
    } else {
      error(f.ptr("pattern"), "must be ascii, zero, counter or random, got " + show(*p));
    }
  }
  out.seed = f.uint("seed", false, 0, UINT64_MAX);
  f.reject_unknown("fill");
  if (!bytes) return std::nullopt;
  return out;
}

// Exactly one of text, hex, base64, fill.
std::optional<Payload> Parser::payload(Fields& f, StepContext& ctx, bool required) {
  const char* kinds[] = {"text", "hex", "base64", "fill"};
  int present = 0;
  for (const char* k : kinds) present += f.has(k) ? 1 : 0;
  auto encoding = f.str("encoding", false);
  if (present == 0) {
    if (required) error(f.ptr(), "needs a payload: one of text, hex, base64, fill");
    return std::nullopt;
  }
  if (present > 1) {
    error(f.ptr(), "has more than one payload; give exactly one of text, hex, base64, fill");
    for (const char* k : kinds) f.take(k);
    return std::nullopt;
  }
  Payload p;
  if (encoding && !f.has("text")) error(f.ptr("encoding"), "only applies to text");
  if (auto t = templ(f, "text", false, ctx)) {
    p.kind = Payload::Kind::text;
    p.text = *t;
    if (encoding) {
      if (!payload::encoding_known(*encoding)) {
        error(f.ptr("encoding"), "unknown charset " + show(*encoding));
      } else if (!t->has_vars()) {
        auto enc = payload::encode_text(t->text, *encoding);
        if (!enc.error.empty()) error(f.ptr("text"), enc.error);
      }
      p.encoding = *encoding;
    }
    return p;
  }
  if (auto h = f.str("hex", false)) {
    auto bytes = from_hex(*h);
    if (!bytes) {
      error(f.ptr("hex"), "must be pairs of hex digits (whitespace ignored), got " + show(*h));
      return std::nullopt;
    }
    p.literal = *bytes;
    return p;
  }
  if (auto b = f.str("base64", false)) {
    auto bytes = from_base64(*b);
    if (!bytes) {
      error(f.ptr("base64"), "is not valid base64, got " + show(*b));
      return std::nullopt;
    }
    p.literal = *bytes;
    return p;
  }
  if (const json* fj = f.take("fill")) {
    auto fl = fill(*fj, f.ptr("fill"));
    if (!fl) return std::nullopt;
    p.kind = Payload::Kind::fill;
    p.fill = *fl;
    return p;
  }
  return std::nullopt;
}

std::optional<Matcher> Parser::matcher(Fields& f, StepContext& ctx, const ConnInfo* conn) {
  const char* payload_kinds[] = {"text", "hex", "base64", "fill"};
  const char* others[] = {"echo", "regex", "length"};
  int present = 0;
  for (const char* k : payload_kinds) present += f.has(k) ? 1 : 0;
  for (const char* k : others) present += f.has(k) ? 1 : 0;
  bool tcp = conn != nullptr && conn->transport == Transport::tcp;
  // until/bytes belong to regex; read them first so they are never "unknown".
  auto until = f.str("until", false);
  auto count = f.uint("bytes", false, 1, kMaxFillBytes);
  const json* capture = f.take("capture");
  if (present != 1) {
    error(f.ptr(), present == 0
                       ? "needs a matcher: one of text, hex, base64, fill, echo, regex, length"
                       : "has more than one matcher; give exactly one of text, hex, "
                         "base64, fill, echo, regex, length");
    for (const char* k : payload_kinds) f.take(k);
    for (const char* k : others) f.take(k);
    f.take("encoding");
    return std::nullopt;
  }
  if ((until || count) && !f.has("regex")) {
    error(f.ptr(until ? "until" : "bytes"), "only applies to a regex matcher");
  }
  if (capture && !f.has("regex")) {
    error(f.ptr("capture"), "only applies to a regex matcher (its groups are what it keeps)");
  }
  if (const json* e = f.take("echo")) {
    if (e->is_boolean() && e->get<bool>()) return Matcher{EchoMatch{false}};
    if (e->is_string() && e->get<std::string>() == "ascii-upper") return Matcher{EchoMatch{true}};
    error(f.ptr("echo"), "must be true or \"ascii-upper\", got " + show(*e));
    return std::nullopt;
  }
  if (f.has("regex")) {
    auto pattern = templ(f, "regex", true, ctx);
    if (!pattern) return std::nullopt;
    RegexMatch rm{*pattern, nullptr, std::nullopt, count};
    if (!pattern->has_vars()) {
      auto c = regexes_.compile(pattern->text);
      rm.compiled = c.pattern;
      if (c.file_limit) {
        error(f.ptr("regex"), c.error);
      } else if (!c.pattern && !c.error.empty()) {
        error(f.ptr("regex"),
              "is not a regex sockspec can run (RE2 syntax, see "
              "docs/scenario-format.md): " +
                  c.error);
      } else if (c.pattern && count && *count > c.pattern->max_input()) {
        error(f.ptr("bytes"), match::over_budget(*c.pattern, *count));
      }
    }
    if (capture) rm.capture = captures(*capture, f.ptr("capture"), rm);
    if (until) {
      if (until->empty()) error(f.ptr("until"), "must not be empty");
      rm.until = *until;
    }
    if (tcp && !until && !count) {
      error(f.ptr("regex"),
            "on TCP needs \"until\" (a delimiter) or \"bytes\" (a count) to know "
            "where the segment ends");
    }
    if (tcp && until && count) error(f.ptr("bytes"), "give either until or bytes, not both");
    if (conn && !tcp && (until || count)) {
      error(f.ptr(until ? "until" : "bytes"),
            "does not apply to UDP: the whole datagram is matched");
    }
    return Matcher{rm};
  }
  if (const json* l = f.take("length")) {
    if (l->is_number_unsigned()) {
      uint64_t n = l->get<uint64_t>();
      return Matcher{LengthMatch{n, n}};
    }
    if (l->is_object()) {
      Fields lf(sink_, *l, f.ptr("length"));
      auto mn = lf.uint("min", false, 0, kMaxFillBytes);
      auto mx = lf.uint("max", false, 0, kMaxFillBytes);
      lf.reject_unknown("length");
      if (!mn && !mx) error(f.ptr("length"), "needs min and/or max");
      LengthMatch lm{mn.value_or(0), mx.value_or(tcp ? kMaxFillBytes : 65535)};
      if (lm.min > lm.max) {
        error(f.ptr("length"),
              "min (" + std::to_string(lm.min) + ") exceeds max (" + std::to_string(lm.max) + ")");
      }
      if (tcp && lm.min == 0) error(f.ptr("length") + "/min", "must be >= 1 on TCP");
      return Matcher{lm};
    }
    error(f.ptr("length"), "must be a byte count or {\"min\": A, \"max\": B}, got " + show(*l));
    return std::nullopt;
  }
  auto p = payload(f, ctx, true);
  if (!p) return std::nullopt;
  return Matcher{*p};
}

std::optional<Op> Parser::op(Fields& f, const std::string& name, StepContext& ctx) {
  auto conn_name = [&](std::string_view key = "conn") -> std::optional<std::string> {
    auto c = f.str(key, true);
    if (c && !matches_charset(*c, true)) {
      error(f.ptr(key), "must match [A-Za-z0-9._-]+, got " + show(*c));
      return std::nullopt;
    }
    return c;
  };
  auto need_tcp = [&](const ConnInfo* ci, const std::string& c) {
    if (ci && ci->transport != Transport::tcp) {
      error(f.ptr("conn"), "op '" + name + "' needs a TCP conn; '" + c + "' is UDP");
    }
  };
  auto not_listener = [&](const ConnInfo* ci, const std::string& c) {
    if (ci && ci->kind == ConnInfo::Kind::listener) {
      error(f.ptr("conn"), "'" + c + "' is a listener; accept a connection from it first");
    }
  };

  if (name == "connect") {
    ConnectOp o;
    auto c = conn_name();
    auto t = transport(f).value_or(ctx.default_transport);
    o.transport = t;
    if (auto to = address(f, "to", false, ctx)) o.to = *to;
    o.bind = address(f, "bind", false, ctx);
    o.options = options(f);
    o.expect_error = errno_field(f);
    if (!c) return std::nullopt;
    o.conn = *c;
    if (!o.expect_error) {
      ctx.conns[*c] = {t == Transport::tcp ? ConnInfo::Kind::stream : ConnInfo::Kind::udp_connected,
                       t};
    }
    return o;
  }
  if (name == "open") {
    OpenOp o;
    auto c = conn_name();
    if (auto t = transport(f); t && *t != Transport::udp) {
      error(f.ptr("transport"), "open makes an unconnected UDP socket; use connect for TCP");
    }
    o.bind = address(f, "bind", false, ctx);
    o.options = options(f);
    if (!c) return std::nullopt;
    o.conn = *c;
    ctx.conns[*c] = {ConnInfo::Kind::udp_open, Transport::udp};
    return o;
  }
  if (name == "listen") {
    ListenOp o;
    auto c = conn_name();
    auto t = transport(f).value_or(ctx.default_transport);
    o.transport = t;
    auto b = address(f, "bind", true, ctx);
    if (auto bl = f.uint("backlog", false, 1, 65535)) o.backlog = static_cast<int>(*bl);
    o.options = options(f);
    o.expect_error = errno_field(f);
    if (!c || !b) return std::nullopt;
    o.conn = *c;
    o.bind = *b;
    if (!o.expect_error) {
      ctx.conns[*c] = {t == Transport::tcp ? ConnInfo::Kind::listener : ConnInfo::Kind::udp_open,
                       t};
    }
    return o;
  }
  if (name == "accept") {
    auto c = conn_name();
    auto as = conn_name("as");
    if (!c || !as) return std::nullopt;
    if (const ConnInfo* ci = use_conn(f, ctx, *c); ci && ci->kind != ConnInfo::Kind::listener) {
      error(f.ptr("conn"), "'" + *c + "' is not a TCP listener (make it with listen)");
    }
    ctx.conns[*as] = {ConnInfo::Kind::stream, Transport::tcp};
    return AcceptOp{*c, *as};
  }
  if (name == "send") {
    SendOp o;
    auto c = conn_name();
    const ConnInfo* ci = c ? use_conn(f, ctx, *c) : nullptr;
    if (ci) not_listener(ci, *c);
    auto p = payload(f, ctx, true);
    o.to = address(f, "to", false, ctx);
    if (o.to && ci && ci->kind != ConnInfo::Kind::udp_open) {
      error(f.ptr("to"), "only an unconnected UDP socket (made with open) takes a destination");
    }
    if (auto r = f.uint("repeat", false, 1, kMaxRepeat)) o.repeat = *r;
    o.expect_error = errno_field(f);
    if (!c || !p) return std::nullopt;
    o.conn = *c;
    o.payload = *p;
    return o;
  }
  if (name == "expect") {
    ExpectOp o;
    auto c = conn_name();
    const ConnInfo* ci = c ? use_conn(f, ctx, *c) : nullptr;
    if (ci) not_listener(ci, *c);
    auto m = matcher(f, ctx, ci);
    o.from = address(f, "from", false, ctx);
    if (o.from && ci && ci->transport == Transport::tcp) {
      error(f.ptr("from"), "only applies to UDP: a TCP conn has one peer");
    }
    o.expect_error = errno_field(f);
    if (!c || !m) return std::nullopt;
    if (auto* rm = std::get_if<RegexMatch>(&m->kind); rm && !rm->capture.empty()) {
      if (o.expect_error) {
        error(f.ptr("capture"), "needs a reply to capture from; it cannot go with expect_error");
      }
      for (const auto& cap : rm->capture) ctx.captured.insert(cap.name);  // for later steps
    }
    o.conn = *c;
    o.matcher = *m;
    return o;
  }
  if (name == "expect_eof" || name == "expect_reset") {
    auto c = conn_name();
    if (!c) return std::nullopt;
    const ConnInfo* ci = use_conn(f, ctx, *c);
    need_tcp(ci, *c);
    not_listener(ci, *c);
    if (name == "expect_eof") return ExpectEofOp{*c};
    return ExpectResetOp{*c};
  }
  if (name == "expect_silence") {
    auto c = conn_name();
    auto ms = f.uint("for_ms", true, 1, kMaxTimeoutMs);
    auto allow_eof = f.boolean("allow_eof");
    if (!c || !ms) return std::nullopt;
    const ConnInfo* ci = use_conn(f, ctx, *c);
    if (allow_eof.value_or(false) && ci) {
      if (ci->transport != Transport::tcp || ci->kind == ConnInfo::Kind::listener) {
        error(f.ptr("allow_eof"), "only applies to a TCP connection (only it has an EOF); '" + *c +
                                      "' is " +
                                      (ci->transport != Transport::tcp ? "UDP" : "a listener"));
      }
    }
    return ExpectSilenceOp{*c, *ms, allow_eof.value_or(false)};
  }
  if (name == "shutdown") {
    auto c = conn_name();
    auto how = f.str("how", true);
    ShutdownOp o;
    if (how) {
      if (*how == "write") {
        o.how = ShutdownHow::write;
      } else if (*how == "read") {
        o.how = ShutdownHow::read;
      } else if (*how == "both") {
        o.how = ShutdownHow::both;
      } else {
        error(f.ptr("how"), "must be write, read or both, got " + show(*how));
      }
    }
    if (!c || !how) return std::nullopt;
    const ConnInfo* ci = use_conn(f, ctx, *c);
    need_tcp(ci, *c);
    o.conn = *c;
    return o;
  }
  if (name == "close") {
    auto c = conn_name();
    auto abort = f.boolean("abort");
    if (!c) return std::nullopt;
    const ConnInfo* ci = use_conn(f, ctx, *c);
    if (abort.value_or(false)) need_tcp(ci, *c);
    ctx.conns.erase(*c);
    return CloseOp{*c, abort.value_or(false)};
  }
  if (name == "sleep") {
    auto ms = f.uint("ms", true, 0, kMaxTimeoutMs);
    if (!ms) return std::nullopt;
    return SleepOp{*ms};
  }
  if (name == "repeat") {
    auto times = f.uint("times", true, 1, kMaxRepeat);
    const json* st = f.take("steps");
    if (!st) error(f.ptr("steps"), "is required");
    if (!times || !st) return std::nullopt;
    if (!within_product(f.ptr("times"), "runs of each inner step", ctx.runs, *times, kMaxRuns))
      return std::nullopt;
    bool outer = ctx.in_repeat;
    uint64_t outer_runs = ctx.runs;
    ctx.in_repeat = true;
    ctx.runs *= *times;
    RepeatOp o{*times, steps(*st, f.ptr("steps"), ctx)};
    ctx.in_repeat = outer;
    ctx.runs = outer_runs;
    return o;
  }
  if (name == "parallel") {
    auto clients = f.uint("clients", true, 1, kMaxClients);
    const json* st = f.take("steps");
    if (!st) error(f.ptr("steps"), "is required");
    if (!clients || !st) return std::nullopt;
    if (!within_product(f.ptr("clients"), "clients at once", ctx.clients, *clients, kMaxClients) ||
        !within_product(f.ptr("clients"), "runs of each inner step", ctx.runs, *clients, kMaxRuns))
      return std::nullopt;
    // Each copy starts with what was captured before the parallel; what it captures stays in it.
    StepContext inner{{},          ctx.default_transport,  ctx.in_repeat,
                      true,        ctx.clients * *clients, ctx.runs * *clients,
                      ctx.captured};
    return ParallelOp{*clients, steps(*st, f.ptr("steps"), inner)};
  }
  if (name == "server") {
    auto action = f.str("action", true);
    ServerOp o;
    o.ready_timeout_ms = f.uint("ready_timeout_ms", false, 1, kMaxTimeoutMs);
    if (!action) return std::nullopt;
    if (*action == "start") {
      o.action = ServerAction::start;
    } else if (*action == "stop") {
      o.action = ServerAction::stop;
    } else if (*action == "restart") {
      o.action = ServerAction::restart;
    } else if (*action == "kill") {
      o.action = ServerAction::kill;
    } else {
      error(f.ptr("action"), "must be start, stop, restart or kill, got " + show(*action));
      return std::nullopt;
    }
    return o;
  }
  if (name == "impair") {
    auto text = f.str("spec", true);
    if (!text) return std::nullopt;
    auto parsed = impair::parse_spec(*text);
    if (!parsed.spec) {
      error(f.ptr("spec"), parsed.error);
      return std::nullopt;
    }
    return ImpairOp{*parsed.spec};
  }
  error(f.ptr("op"), "unknown op " + show(name) +
                         " (known: connect, open, listen, accept, send, expect, expect_eof, "
                         "expect_reset, expect_silence, shutdown, close, sleep, repeat, parallel, "
                         "server, impair)");
  f.take_all();  // the unknown op is the only complaint worth reading
  return std::nullopt;
}

}  // namespace

ParseResult parse_suite(std::string_view json_text, const std::string& file) {
  ParseResult result;
  auto root = parse_json_text(json_text, file, result.errors);
  if (!root) return result;
  Parser p(file);
  auto suite = p.suite(*root);
  result.errors = std::move(p.errors());
  if (result.errors.empty()) result.suite = std::move(suite);
  return result;
}

StepListsParse parse_step_lists(const std::vector<std::pair<const json*, std::string>>& lists,
                                const std::string& file, Transport transport,
                                std::optional<size_t> numbered) {
  Parser p(file);
  // In a load profile each virtual user is a client: ${client} is its index.
  StepContext ctx{{}, transport, false, true};
  StepListsParse out;
  for (const auto& [j, ptr] : lists) {
    ctx.in_repeat = numbered && *numbered == out.lists.size();
    out.lists.push_back(j ? p.steps_in(*j, ptr, ctx) : Steps{});
  }
  out.errors = std::move(p.errors());
  return out;
}

}  // namespace sockspec::scenario
