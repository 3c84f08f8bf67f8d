#include "scenario/write.h"

#include "common/codec.h"
#include "scenario/write_parts.h"

namespace sockspec::scenario {

namespace {

using json = nlohmann::ordered_json;

const char* fill_pattern_name(FillPattern p) {
  switch (p) {
    case FillPattern::ascii:
      return "ascii";
    case FillPattern::zero:
      return "zero";
    case FillPattern::counter:
      return "counter";
    case FillPattern::random:
      return "random";
  }
  return "ascii";
}

// A payload's keys go into the step object itself (text/hex/fill beside op and conn).
void put_payload(json& j, const Payload& p) {
  switch (p.kind) {
    case Payload::Kind::text:
      j["text"] = p.text.text;
      if (!p.encoding.empty()) j["encoding"] = p.encoding;
      return;
    case Payload::Kind::literal:
      j["hex"] = to_hex(p.literal);
      return;
    case Payload::Kind::fill: {
      json f = {{"bytes", p.fill.bytes}, {"pattern", fill_pattern_name(p.fill.pattern)}};
      if (p.fill.seed) f["seed"] = *p.fill.seed;
      j["fill"] = f;
      return;
    }
    case Payload::Kind::parts:
      j["parts"] = parts_json(p.parts);
      return;
  }
}

// An expression as written; a plain number as a JSON number.
json expr_json(const Expr& e) {
  if (auto v = e.constant(); v && e.source == std::to_string(*v)) return *v;
  return e.source;
}

void put_matcher(json& j, const Matcher& m) {
  if (auto* p = std::get_if<Payload>(&m.kind)) return put_payload(j, *p);
  if (auto* e = std::get_if<EchoMatch>(&m.kind)) {
    j["echo"] = e->upper ? json("ascii-upper") : json(true);
    return;
  }
  if (auto* r = std::get_if<RegexMatch>(&m.kind)) {
    j["regex"] = r->pattern.text;
    if (r->until) j["until"] = *r->until;
    if (r->until_eof) j["until_eof"] = true;
    if (r->bytes) j["bytes"] = *r->bytes;
    if (r->bytes_expr) j["bytes"] = expr_json(*r->bytes_expr);
    for (const auto& c : r->capture) j["capture"][c.name] = c.group;
    return;
  }
  if (auto* pm = std::get_if<PartsMatch>(&m.kind)) {
    j["parts"] = parts_json(pm->parts);
    return;
  }
  const auto& l = std::get<LengthMatch>(m.kind);
  j["length"] = l.exact          ? expr_json(*l.exact)
                : l.min == l.max ? json(l.min)
                                 : json{{"min", l.min}, {"max", l.max}};
}

json options_json(const SocketOptions& o) {
  json j = json::object();
  auto flag = [&](const char* k, const std::optional<bool>& v) {
    if (v) j[k] = *v;
  };
  flag("reuseaddr", o.reuseaddr);
  flag("reuseport", o.reuseport);
  flag("nodelay", o.nodelay);
  flag("v6only", o.v6only);
  flag("cork", o.cork);
  if (o.rcvbuf) j["rcvbuf"] = *o.rcvbuf;
  if (o.sndbuf) j["sndbuf"] = *o.sndbuf;
  return j;
}

// The fields every socket-making op may carry.
void put_socket(json& j, const std::optional<Transport>& t, const SocketOptions& o,
                const std::optional<std::string>& expect_error) {
  if (t) j["transport"] = to_string(*t);
  if (json opts = options_json(o); !opts.empty()) j["options"] = opts;
  if (expect_error) j["expect_error"] = *expect_error;
}

const char* how_name(ShutdownHow h) {
  return h == ShutdownHow::write ? "write" : h == ShutdownHow::read ? "read" : "both";
}

const char* action_name(ServerAction a) {
  switch (a) {
    case ServerAction::start:
      return "start";
    case ServerAction::stop:
      return "stop";
    case ServerAction::restart:
      return "restart";
    case ServerAction::kill:
      return "kill";
  }
  return "start";
}

json tls_json(const TlsOptions& o) {
  json j = json::object();
  if (o.sni) j["sni"] = *o.sni;
  if (o.verify) j["verify"] = *o.verify;
  if (o.ca) j["ca"] = *o.ca;
  if (o.cert) j["cert"] = *o.cert;
  if (o.key) j["key"] = *o.key;
  if (o.alpn) j["alpn"] = *o.alpn;
  if (o.min_version) j["min_version"] = *o.min_version;
  if (o.max_version) j["max_version"] = *o.max_version;
  if (o.resume) j["resume"] = *o.resume;
  return j;
}

struct OpWriter {
  json& j;
  void operator()(const ConnectOp& o) {
    j["conn"] = o.conn;
    if (o.to.text != "target") j["to"] = o.to.text;
    if (o.bind) j["bind"] = o.bind->text;
    put_socket(j, o.transport, o.options, o.expect_error);
    if (o.frame) j["frame"] = frame_json(*o.frame);
    if (o.tls) {
      json t = tls_json(o.tls_options);
      j["tls"] = *o.tls && !t.empty() ? t : json(*o.tls);
    }
  }
  void operator()(const RenegotiateOp& o) {
    j["conn"] = o.conn;
    if (o.refusal_ok) j["refusal_ok"] = true;
    if (o.expect_error) j["expect_error"] = *o.expect_error;
  }
  void operator()(const StartTlsOp& o) {
    j["conn"] = o.conn;
    if (json t = tls_json(o.tls_options); !t.empty()) j["tls"] = t;
    if (o.expect_error) j["expect_error"] = *o.expect_error;
  }
  void operator()(const OpenOp& o) {
    j["conn"] = o.conn;
    if (o.bind) j["bind"] = o.bind->text;
    put_socket(j, std::nullopt, o.options, std::nullopt);
  }
  void operator()(const ListenOp& o) {
    j["conn"] = o.conn;
    j["bind"] = o.bind.text;
    if (o.backlog != 128) j["backlog"] = o.backlog;
    put_socket(j, o.transport, o.options, o.expect_error);
  }
  void operator()(const AcceptOp& o) {
    j["conn"] = o.conn;
    j["as"] = o.as;
    if (o.frame) j["frame"] = frame_json(*o.frame);
  }
  void operator()(const SendOp& o) {
    j["conn"] = o.conn;
    put_payload(j, o.payload);
    if (o.to) j["to"] = o.to->text;
    if (o.repeat != 1) j["repeat"] = o.repeat;
    if (o.read_while_blocked) j["read_while_blocked"] = o.read_while_blocked;
    if (o.expect_error) j["expect_error"] = *o.expect_error;
  }
  void operator()(const ExpectOp& o) {
    j["conn"] = o.conn;
    put_matcher(j, o.matcher);
    if (o.from) j["from"] = o.from->text;
    if (o.capture_from) j["capture_from"] = *o.capture_from;
    if (o.expect_error) j["expect_error"] = *o.expect_error;
    if (o.frame) j["frame"] = frame_json(*o.frame);
  }
  void operator()(const ExpectEofOp& o) {
    j["conn"] = o.conn;
    if (o.close_notify) j["close_notify"] = true;
  }
  void operator()(const ExpectResetOp& o) { j["conn"] = o.conn; }
  void operator()(const ExpectTlsAlertOp& o) {
    j["conn"] = o.conn;
    if (o.alert) j["alert"] = *o.alert;
  }
  void operator()(const ExpectSilenceOp& o) {
    j["conn"] = o.conn;
    j["for_ms"] = o.for_ms;
    if (o.allow_eof) j["allow_eof"] = true;
  }
  void operator()(const ShutdownOp& o) {
    j["conn"] = o.conn;
    j["how"] = how_name(o.how);
  }
  void operator()(const CloseOp& o) {
    j["conn"] = o.conn;
    if (o.abort) j["abort"] = true;
  }
  void operator()(const SleepOp& o) { j["ms"] = o.ms; }
  void operator()(const RepeatOp& o) {
    j[o.until ? "max" : "times"] = o.times;
    if (o.until) j["until"] = expr_json(*o.until);
    j["steps"] = write_steps(o.steps);
  }
  void operator()(const ParallelOp& o) {
    j["clients"] = o.clients;
    j["steps"] = write_steps(o.steps);
  }
  void operator()(const ServerOp& o) {
    j["action"] = action_name(o.action);
    if (o.ready_timeout_ms) j["ready_timeout_ms"] = *o.ready_timeout_ms;
  }
  void operator()(const ImpairOp& o) { j["spec"] = o.spec.text; }
  void operator()(const SetOp& o) {
    for (const auto& [name, e] : o.values) j["values"][name] = expr_json(e);
  }
};

json write_case(const Case& c) {
  json j = {{"id", c.id}};
  if (!c.title.empty()) j["title"] = c.title;
  if (!c.spec_ref.empty()) j["spec_ref"] = c.spec_ref;
  if (!c.description.empty()) j["description"] = c.description;
  if (c.level != Level::must) j["level"] = to_string(c.level);
  if (!c.tags.empty()) j["tags"] = c.tags;
  // "managed-server" is added by the parser for server steps; writing it back is harmless.
  if (!c.requires_.empty()) j["requires"] = c.requires_;
  if (c.timeout_ms) j["timeout_ms"] = *c.timeout_ms;
  j["steps"] = write_steps(c.steps);
  return j;
}

}  // namespace

json write_steps(const Steps& steps) {
  json out = json::array();
  for (const auto& s : steps) {
    json j = {{"op", op_name(s.op)}};
    std::visit(OpWriter{j}, s.op);
    if (s.timeout_ms) j["timeout_ms"] = *s.timeout_ms;
    if (!s.label.empty()) j["label"] = s.label;
    out.push_back(std::move(j));
  }
  return out;
}

json write_suite(const Suite& s) {
  json j = {{"format", 1}, {"suite", s.suite}};
  if (!s.title.empty()) j["title"] = s.title;
  if (!s.spec.empty()) j["spec"] = s.spec;
  if (!s.service.empty()) j["service"] = s.service;
  j["transport"] = to_string(s.transport);
  j["defaults"] = {{"timeout_ms", s.default_timeout_ms}};
  json cases = json::array();
  for (const auto& c : s.cases) cases.push_back(write_case(c));
  j["cases"] = cases;
  return j;
}

}  // namespace sockspec::scenario
