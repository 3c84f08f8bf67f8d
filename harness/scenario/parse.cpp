#include "scenario/parse.h"

#include "common/codec.h"
#include "payload/payload.h"
#include "scenario/endpoint.h"
#include "scenario/parser.h"
#include "scenario/template.h"

namespace sockspec::scenario {

namespace detail {

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
  c.description = f.str("description", false).value_or("");
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

std::optional<std::string> Parser::errno_field(Fields& f, bool tls) {
  auto e = f.str("expect_error", false);
  if (e && tls && is_tls_error_name(*e)) return e;
  if (!e || errno_from_name(*e)) return e;
  const char* or_tls = tls ? ", or tls / tls:REASON for a failed TLS handshake" : "";
  error(f.ptr("expect_error"),
        std::string("is not an errno name (like ECONNREFUSED") + or_tls + "), got " + show(*e));
  return std::nullopt;
}

void Parser::check_vars(const std::string& text, const std::string& ptr, StepContext& ctx) {
  VarScan scan = scan_vars(text);
  if (!scan.error.empty()) {
    error(ptr, scan.error);
    return;
  }
  check_refs(scan.refs, ptr, ctx);
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

// Exactly one of text, hex, base64, fill.
std::optional<Payload> Parser::payload(Fields& f, StepContext& ctx, bool required) {
  const char* kinds[] = {"text", "hex", "base64", "fill", "parts"};
  int present = 0;
  for (const char* k : kinds) present += f.has(k) ? 1 : 0;
  auto encoding = f.str("encoding", false);
  if (present == 0) {
    if (required) error(f.ptr(), "needs a payload: one of text, hex, base64, fill, parts");
    return std::nullopt;
  }
  if (present > 1) {
    error(f.ptr(), "has more than one payload; give exactly one of text, hex, base64, fill, parts");
    for (const char* k : kinds) f.take(k);
    return std::nullopt;
  }
  Payload p;
  if (encoding && !f.has("text")) error(f.ptr("encoding"), "only applies to text");
  if (f.has("parts")) {
    auto parts = message_parts(f, ctx, true);
    if (!parts) return std::nullopt;
    p.kind = Payload::Kind::parts;
    p.parts = std::move(*parts);
    return p;
  }
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
  const char* others[] = {"echo", "regex", "length", "parts"};
  int present = 0;
  for (const char* k : payload_kinds) present += f.has(k) ? 1 : 0;
  for (const char* k : others) present += f.has(k) ? 1 : 0;
  // A framed TCP expect matches one whole message, as a datagram is matched.
  bool tcp = conn != nullptr && conn->transport == Transport::tcp && !conn->framed;
  // until/bytes belong to regex; read them first so they are never "unknown".
  auto until = f.str("until", false);
  bool until_eof = false;
  if (const json* ue = f.take("until_eof")) {
    if (!ue->is_boolean()) error(f.ptr("until_eof"), "must be true or false, got " + show(*ue));
    until_eof = ue->is_boolean() && ue->get<bool>();
  }
  std::optional<uint64_t> count;
  std::optional<Expr> count_expr;  // "${len} + 2": counted when the step runs
  if (const json* b = f.take("bytes"); b && b->is_string()) {
    count_expr = expr_value(*b, f.ptr("bytes"), ctx);
    if (auto v = count_expr ? count_expr->constant() : std::nullopt) {
      if (*v < 1 || static_cast<uint64_t>(*v) > kMaxFillBytes) {
        error(f.ptr("bytes"),
              "must be 1.." + std::to_string(kMaxFillBytes) + ", got " + std::to_string(*v));
      } else {
        count = static_cast<uint64_t>(*v);
      }
      count_expr.reset();
    }
  } else if (b) {
    count = f.uint("bytes", false, 1, kMaxFillBytes);
  }
  const json* capture = f.take("capture");
  if (present != 1) {
    error(f.ptr(), present == 0
                       ? "needs a matcher: one of text, hex, base64, fill, echo, regex, length, "
                         "parts"
                       : "has more than one matcher; give exactly one of text, hex, "
                         "base64, fill, echo, regex, length, parts");
    for (const char* k : payload_kinds) f.take(k);
    for (const char* k : others) f.take(k);
    f.take("encoding");
    return std::nullopt;
  }
  bool counted = f.has("bytes");
  if ((until || counted) && !f.has("regex")) {
    error(f.ptr(until ? "until" : "bytes"), "only applies to a regex matcher");
  }
  if (until_eof && !f.has("regex")) error(f.ptr("until_eof"), "only applies to a regex matcher");
  if (capture && !f.has("regex")) {
    error(f.ptr("capture"), "only applies to a regex matcher (its groups are what it keeps)");
  }
  if (f.has("parts")) {
    auto parts = message_parts(f, ctx, false);
    if (!parts) return std::nullopt;
    return Matcher{PartsMatch{std::move(*parts)}};
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
    RegexMatch rm{*pattern, nullptr, std::nullopt, count, count_expr};
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
    rm.until_eof = until_eof;
    if (until_eof && (until || counted)) {
      error(f.ptr("until_eof"), "give one of until, bytes or until_eof");
    } else if (until_eof && conn && !tcp) {
      error(f.ptr("until_eof"), "does not apply to UDP: the whole datagram is matched");
    }
    if (tcp && !until && !counted && !until_eof) {
      error(f.ptr("regex"),
            "on TCP needs \"until\" (a delimiter), \"bytes\" (a count) or \"until_eof\" "
            "to know where the segment ends");
    }
    if (tcp && until && counted) error(f.ptr("bytes"), "give either until or bytes, not both");
    if (conn && !tcp && (until || counted)) {
      error(f.ptr(until ? "until" : "bytes"),
            "does not apply to UDP: the whole datagram is matched");
    }
    return Matcher{rm};
  }
  if (const json* l = f.take("length")) {
    if (l->is_string()) {  // "${n}": an exact length counted when the step runs
      auto e = expr_value(*l, f.ptr("length"), ctx);
      if (!e) return std::nullopt;
      return Matcher{LengthMatch{0, 0, std::move(e)}};
    }
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
    error(f.ptr("length"),
          "must be a byte count, an expression or {\"min\": A, \"max\": B}, got " + show(*l));
    return std::nullopt;
  }
  auto p = payload(f, ctx, true);
  if (!p) return std::nullopt;
  return Matcher{*p};
}

}  // namespace detail

using detail::Parser;
using detail::StepContext;
using json = nlohmann::json;

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
