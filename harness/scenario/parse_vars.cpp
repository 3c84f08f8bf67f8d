// Issue 21's additions to the parser: variables in expressions, `set`, `repeat` until a
// condition, and an `expect` that takes a datagram from any sender.
#include "scenario/endpoint.h"
#include "scenario/parser.h"
#include "scenario/template.h"

namespace sockspec::scenario::detail {

void Parser::check_refs(const std::vector<VarRef>& refs, const std::string& ptr, StepContext& ctx) {
  for (const auto& r : refs) {
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

std::optional<Expr> Parser::expr_value(const json& j, const std::string& ptr, StepContext& ctx) {
  if (j.is_number_integer()) return constant_expr(j.get<int64_t>());
  if (!j.is_string()) {
    error(ptr, "must be an integer or an expression string (\"${n} + 1\"), got " + show(j));
    return std::nullopt;
  }
  auto p = parse_expr(j.get<std::string>());
  if (!p.expr) {
    error(ptr, p.error);
    return std::nullopt;
  }
  check_refs(p.expr->refs, ptr, ctx);
  return p.expr;
}

std::optional<Op> Parser::set_op(Fields& f, StepContext& ctx) {
  const json* values = f.take("values");
  if (!values) {
    error(f.ptr("values"), "is required: an object of NAME: integer or expression");
    return std::nullopt;
  }
  if (!values->is_object() || values->empty()) {
    error(f.ptr("values"),
          "must be an object of NAME: integer or expression ({\"next\": \"${block} + 1\"}), got " +
              show(*values));
    return std::nullopt;
  }
  SetOp o;
  bool ok = true;
  // Every value is computed from the variables as they were before the step, so one value
  // cannot read another of the same step: checked before any of the names is known.
  for (const auto& [name, v] : values->items()) {
    std::string at = f.ptr("values") + "/" + pointer_escape(name);
    if (auto why = capture_name_problem(name); !why.empty()) {
      error(at, "'" + name + "' " + why);
      ok = false;
      continue;
    }
    auto e = expr_value(v, at, ctx);
    if (!e) {
      ok = false;
      continue;
    }
    o.values.emplace_back(name, std::move(*e));
  }
  for (const auto& [name, e] : o.values) ctx.captured.insert(name);
  if (!ok) return std::nullopt;
  return o;
}

std::optional<Op> Parser::repeat_op(Fields& f, StepContext& ctx) {
  const json* until = f.take("until");
  std::optional<uint64_t> times;
  if (until) {
    if (f.has("times")) error(f.ptr("times"), "give either times or until (with max), not both");
    f.take("times");
    times = f.uint("max", false, 1, kMaxRepeat);
    if (!times && !f.has("max")) {
      error(f.ptr("max"), "is required with until: the most iterations to run before failing");
    }
  } else {
    if (f.has("max")) error(f.ptr("max"), "only applies with until (times is already a count)");
    f.take("max");
    times = f.uint("times", true, 1, kMaxRepeat);
  }
  const json* st = f.take("steps");
  if (!st) error(f.ptr("steps"), "is required");
  if (!times || !st) return std::nullopt;
  const char* key = until ? "max" : "times";
  if (!within_product(f.ptr(key), "runs of each inner step", ctx.runs, *times, kMaxRuns))
    return std::nullopt;
  bool outer = ctx.in_repeat;
  uint64_t outer_runs = ctx.runs;
  ctx.in_repeat = true;
  ctx.runs *= *times;
  RepeatOp o{*times, steps(*st, f.ptr("steps"), ctx)};
  // After the body: a condition may read what the body captures or sets, and ${i} (the
  // iteration that just ended).
  if (until) o.until = expr_value(*until, f.ptr("until"), ctx);
  ctx.in_repeat = outer;
  ctx.runs = outer_runs;
  if (until && !o.until) return std::nullopt;
  return o;
}

namespace {
// "HOST:*": HOST, else nullopt.
std::optional<std::string_view> any_port_host(std::string_view text) {
  if (text.size() < 3 || !text.ends_with(":*")) return std::nullopt;
  return text.substr(0, text.size() - 2);
}
}  // namespace

void Parser::sender(Fields& f, StepContext& ctx, const ConnInfo* conn, ExpectOp& o) {
  bool udp = conn && conn->transport == Transport::udp;
  if (auto text = f.str("from", false)) {
    check_vars(*text, f.ptr("from"), ctx);
    bool wildcard = *text == "any" || any_port_host(*text);
    if (auto host = any_port_host(*text); host && text->find("${") == std::string::npos) {
      std::string probe = std::string(*host) + ":0";
      if (auto ep = parse_endpoint(probe);
          !ep.endpoint || ep.endpoint->is_target || ep.endpoint->is_unix()) {
        error(f.ptr("from"), "\"HOST:*\" needs a host name or address before :*, got " +
                                 show(*text) + (ep.endpoint ? "" : ": " + ep.error));
      }
    } else if (!wildcard && text->find("${") == std::string::npos) {
      if (auto ep = parse_endpoint(*text); !ep.endpoint) error(f.ptr("from"), ep.error);
    }
    if (conn && conn->transport == Transport::tcp) {
      error(f.ptr("from"), "only applies to UDP: a TCP conn has one peer");
    } else if (wildcard && conn && conn->kind != ConnInfo::Kind::udp_open) {
      error(f.ptr("from"),
            "\"any\" and \"HOST:*\" need an unconnected UDP socket (made with open): a "
            "connected one hears only from its peer");
    }
    o.from = Template{*text};
  }
  if (auto name = f.str("capture_from", false)) {
    if (auto why = capture_name_problem(*name); !why.empty()) {
      error(f.ptr("capture_from"), "'" + *name + "' " + why);
    } else if (conn && !udp) {
      error(f.ptr("capture_from"), "only applies to UDP: a TCP conn has one peer");
    } else {
      o.capture_from = *name;
      ctx.captured.insert(*name);
    }
  }
}

}  // namespace sockspec::scenario::detail
