// TLS in a scenario: `connect` with "tls", the `starttls` op, and expect_error's TLS reasons.
#include "common/codec.h"
#include "scenario/parser.h"

namespace sockspec::scenario {

bool is_tls_error_name(const std::string& e) { return e == "tls" || e.rfind("tls:", 0) == 0; }

namespace detail {

namespace {
bool known_version(const std::string& v) { return v == "1.2" || v == "1.3"; }
}  // namespace

TlsOptions Parser::tls_options(const json& j, const std::string& ptr) {
  TlsOptions o;
  Fields t(sink_, j, ptr);
  if (!t.ok()) return o;
  o.sni = t.str("sni", false);
  o.verify = t.boolean("verify");
  o.ca = t.str("ca", false);
  o.cert = t.str("cert", false);
  o.key = t.str("key", false);
  if (o.key && !o.cert) t.error("key", "goes with a client certificate: give \"cert\" too");
  for (auto [key, slot] :
       {std::pair{"min_version", &o.min_version}, std::pair{"max_version", &o.max_version}}) {
    *slot = t.str(key, false);
    if (*slot && !known_version(**slot)) {
      t.error(key, "must be \"1.2\" or \"1.3\", got " + show(**slot));
      slot->reset();
    }
  }
  if (o.min_version && o.max_version && *o.min_version > *o.max_version) {
    t.error("min_version", "is above max_version (" + *o.max_version + ")");
  }
  if (const json* a = t.take("alpn")) {
    std::vector<std::string> names;
    if (!a->is_array() || a->empty()) {
      error(t.ptr("alpn"),
            "must be a non-empty array of protocol names, like [\"h2\", "
            "\"http/1.1\"]");
    } else {
      for (size_t i = 0; i < a->size(); ++i) {
        const json& n = (*a)[i];
        if (!n.is_string() || n.get<std::string>().empty() || n.get<std::string>().size() > 255) {
          error(t.ptr("alpn") + "/" + std::to_string(i), "must be a name of 1 to 255 bytes");
          continue;
        }
        names.push_back(n.get<std::string>());
      }
      o.alpn = names;
    }
  }
  o.resume = t.boolean("resume");
  t.reject_unknown("tls");
  return o;
}

// "tls": true | false | {settings}
void Parser::connect_tls(Fields& f, ConnectOp& o, Transport t) {
  const json* v = f.take("tls");
  if (!v) return;
  if (v->is_boolean()) {
    o.tls = v->get<bool>();
  } else if (v->is_object()) {
    o.tls = true;
    o.tls_options = tls_options(*v, f.ptr("tls"));
  } else {
    error(f.ptr("tls"), "must be true, false or an object of TLS settings, got " + show(*v));
    return;
  }
  if (*o.tls && t != Transport::tcp) {
    error(f.ptr("tls"), "TLS runs over TCP; this connect is UDP (DTLS is not supported)");
  }
}

// The conn of a TLS step: a connected TCP one (whether it speaks TLS yet is known only when the
// case runs: a tls: target makes every connect to it TLS).
void Parser::stream_conn(Fields& f, StepContext& ctx, const std::string& c, const char* op) {
  const ConnInfo* ci = use_conn(f, ctx, c);
  if (ci && (ci->transport != Transport::tcp || ci->kind == ConnInfo::Kind::listener)) {
    error(f.ptr("conn"), std::string(op) + " needs a connected TCP conn; '" + c + "' is " +
                             (ci->transport != Transport::tcp ? "UDP" : "a listener"));
  }
}

std::optional<Op> Parser::starttls_op(Fields& f, StepContext& ctx) {
  auto c = f.str("conn", true);
  StartTlsOp o;
  if (const json* v = f.take("tls")) o.tls_options = tls_options(*v, f.ptr("tls"));
  o.expect_error = errno_field(f, true);
  if (!c) return std::nullopt;
  stream_conn(f, ctx, *c, "starttls");
  o.conn = *c;
  return o;
}

std::optional<Op> Parser::renegotiate_op(Fields& f, StepContext& ctx) {
  auto c = f.str("conn", true);
  RenegotiateOp o;
  o.refusal_ok = f.boolean("refusal_ok").value_or(false);
  o.expect_error = errno_field(f, true);
  if (o.refusal_ok && o.expect_error) {
    error(f.ptr("refusal_ok"), "and expect_error say two different things: keep one");
  }
  if (!c) return std::nullopt;
  stream_conn(f, ctx, *c, "renegotiate");
  o.conn = *c;
  return o;
}

std::optional<Op> Parser::tls_alert_op(Fields& f, StepContext& ctx) {
  auto c = f.str("conn", true);
  ExpectTlsAlertOp o;
  o.alert = f.str("alert", false);
  if (o.alert &&
      (o.alert->empty() ||
       o.alert->find_first_not_of("abcdefghijklmnopqrstuvwxyz_0123456789") != std::string::npos)) {
    error(f.ptr("alert"),
          "must be an alert's name as RFC 8446 writes it, like "
          "\"certificate_required\" or \"handshake_failure\", got " +
              show(*o.alert));
  }
  if (!c) return std::nullopt;
  stream_conn(f, ctx, *c, "expect_tls_alert");
  o.conn = *c;
  return o;
}

}  // namespace detail
}  // namespace sockspec::scenario
