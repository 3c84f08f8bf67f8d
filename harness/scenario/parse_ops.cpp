// Each op's fields: what `op` names decides which fields a step may have and what they mean.
#include "common/codec.h"
#include "payload/payload.h"
#include "scenario/endpoint.h"
#include "scenario/parser.h"
#include "scenario/template.h"

namespace sockspec::scenario::detail {

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
    o.expect_error = errno_field(f, true);
    connect_tls(f, o, t);
    o.frame = frame(f);
    if (o.frame && t != Transport::tcp) {
      error(f.ptr("frame"), "only applies to TCP: each UDP datagram is already one message");
    }
    if (!c) return std::nullopt;
    o.conn = *c;
    if (!o.expect_error) {
      ctx.conns[*c] = {t == Transport::tcp ? ConnInfo::Kind::stream : ConnInfo::Kind::udp_connected,
                       t, o.frame.has_value()};
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
    auto fr = frame(f);
    if (!c || !as) return std::nullopt;
    if (const ConnInfo* ci = use_conn(f, ctx, *c); ci && ci->kind != ConnInfo::Kind::listener) {
      error(f.ptr("conn"), "'" + *c + "' is not a TCP listener (make it with listen)");
    }
    ctx.conns[*as] = {ConnInfo::Kind::stream, Transport::tcp, fr.has_value()};
    return AcceptOp{*c, *as, fr};
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
    if (auto r = f.uint("read_while_blocked", false, 1, 1 << 20)) {
      o.read_while_blocked = *r;
      if (ci && ci->transport != Transport::tcp)
        error(f.ptr("read_while_blocked"),
              "only applies to TCP: a datagram send never blocks on the peer");
    }
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
    o.frame = frame(f);
    std::optional<ConnInfo> framed;
    if (ci && o.frame) {
      framed = *ci;
      framed->framed = true;
      if (ci->transport != Transport::tcp) {
        error(f.ptr("frame"), "only applies to TCP: each UDP datagram is already one message");
      }
    }
    auto m = matcher(f, ctx, framed ? &*framed : ci);
    sender(f, ctx, ci, o);  // from, capture_from
    o.expect_error = errno_field(f);
    if (!c || !m) return std::nullopt;
    if (auto* rm = std::get_if<RegexMatch>(&m->kind); rm && !rm->capture.empty()) {
      if (o.expect_error) {
        error(f.ptr("capture"), "needs a reply to capture from; it cannot go with expect_error");
      }
      for (const auto& cap : rm->capture) ctx.captured.insert(cap.name);  // for later steps
    }
    if (auto* pm = std::get_if<PartsMatch>(&m->kind)) parts_captures(pm->parts, ctx.captured);
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
    if (name == "expect_eof") {
      auto cn = f.boolean("close_notify");
      return ExpectEofOp{*c, cn.value_or(false)};
    }
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
    auto how = f.one_of<ShutdownHow>(
        "how", true,
        {{"write", ShutdownHow::write}, {"read", ShutdownHow::read}, {"both", ShutdownHow::both}});
    ShutdownOp o;
    if (how) o.how = *how;
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
  if (name == "starttls") return starttls_op(f, ctx);
  if (name == "expect_tls_alert") return tls_alert_op(f, ctx);
  if (name == "renegotiate") return renegotiate_op(f, ctx);
  if (name == "sleep") {
    auto ms = f.uint("ms", true, 0, kMaxTimeoutMs);
    if (!ms) return std::nullopt;
    return SleepOp{*ms};
  }
  if (name == "repeat") return repeat_op(f, ctx);
  if (name == "set") return set_op(f, ctx);
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
    auto action = f.one_of<ServerAction>("action", true,
                                         {{"start", ServerAction::start},
                                          {"stop", ServerAction::stop},
                                          {"restart", ServerAction::restart},
                                          {"kill", ServerAction::kill}});
    ServerOp o;
    o.ready_timeout_ms = f.uint("ready_timeout_ms", false, 1, kMaxTimeoutMs);
    if (!action) return std::nullopt;
    o.action = *action;
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
  error(f.ptr("op"),
        "unknown op " + show(name) +
            " (known: connect, starttls, renegotiate, open, listen, accept, send, expect, "
            "expect_eof, "
            "expect_reset, expect_tls_alert, expect_silence, shutdown, close, sleep, repeat, "
            "parallel, "
            "server, impair, set)");
  f.take_all();  // the unknown op is the only complaint worth reading
  return std::nullopt;
}

}  // namespace sockspec::scenario::detail
