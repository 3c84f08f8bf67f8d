#include "runner/impairment.h"

#include <algorithm>

namespace sockspec::runner {

ImpairOption check_impair_options(const std::string& spec, const std::string& level) {
  ImpairOption o;
  auto lv = impair::parse_level(level);
  if (!lv) {
    o.error = "--impair-level must be stream, datagram, packet or auto, got '" + level + "'";
    return o;
  }
  o.level = *lv;
  if (spec.empty()) {
    if (!level.empty()) o.error = "--impair-level needs --impair SPEC";
    return o;
  }
  auto parsed = impair::parse_spec(spec);
  if (!parsed.spec) {
    o.error = "--impair: " + parsed.error;
    return o;
  }
  if (o.level == impair::Level::packet) {
    for (const auto* d : {&parsed.spec->to_server, &parsed.spec->to_client}) {
      if (d->slice_bytes || d->stall || d->reset_after_bytes || d->close_after_bytes ||
          d->reset_after_time || d->close_after_time || d->slow_close.count()) {
        o.error =
            "--impair: slice, stall, reset-after, close-after and slow-close act on streams: "
            "use them with --impair-level stream";
        return o;
      }
    }
  }
  o.spec = parsed.spec;
  return o;
}

namespace {
bool strikes_datagrams(const impair::Direction& d) {
  return d.loss.active() || d.duplicate.active() || d.reorder.active() || d.corrupt.active() ||
         d.truncate > 0;
}
bool strikes_datagrams(const impair::Spec& s) {
  return strikes_datagrams(s.to_server) || strikes_datagrams(s.to_client);
}
// "target", "${target.host}:0", "${target.host}:${target.port}"...
bool names_target(const std::optional<scenario::Template>& t) {
  return t && (t->text == "target" || t->text.find("${target.") != std::string::npos);
}
bool slows_or_loses(const impair::Direction& d) {
  return d.delay.count() > 0 || d.jitter.count() > 0 || d.rate_bps > 0 ||
         d.slice_delay.count() > 0 || d.loss.active() || d.reorder.active() || d.corrupt.active() ||
         d.truncate > 0;
}
bool needs(const scenario::Case& c, const char* cap) {
  return std::find(c.requires_.begin(), c.requires_.end(), cap) != c.requires_.end();
}
}  // namespace

double timeout_scale(double asked, const ImpairOption& o) {
  if (asked > 0) return asked;
  bool impaired =
      o.spec && (slows_or_loses(o.spec->to_server) || slows_or_loses(o.spec->to_client));
  return impaired ? kImpairedTimeoutScale : 1.0;
}

std::string unfit_under(const scenario::Case& c, const ImpairOption& o) {
  // A case's impair steps replace the run's conditions on its own relay; at packet level the
  // link's stay underneath them.
  if (!o.spec || !o.spec->any() || (scenario::uses_impair(c.steps) && !o.packet())) return "";
  using namespace scenario;
  if (o.packet() && any_step(c.steps, [](const Step& s) {
        if (auto* l = std::get_if<ListenOp>(&s.op)) return names_target(l->bind);
        if (auto* op = std::get_if<OpenOp>(&s.op)) return names_target(op->bind);
        if (auto* cn = std::get_if<ConnectOp>(&s.op)) return names_target(cn->bind);
        return false;
      })) {
    return "binds the target's address, which works only on the target's own host; at packet "
           "level the server has a network namespace of its own";
  }
  if (needs(c, "clean-network")) {
    return "requires clean-network: it measures the server's speed, and under --impair " +
           o.spec->text + " it would measure the network's";
  }
  if (needs(c, "lossless-datagrams") && strikes_datagrams(*o.spec)) {
    return "requires lossless-datagrams: UDP has no retransmission, so a case that counts on "
           "every datagram cannot hold under --impair " +
           o.spec->text;
  }
  return "";
}

bool sends_datagrams_to_target(const scenario::Case& c, scenario::Transport suite_transport) {
  using namespace scenario;
  std::vector<std::string> unconnected;  // `open` sockets: a send without `to` goes to the target
  any_step(c.steps, [&](const Step& s) {
    if (auto* op = std::get_if<OpenOp>(&s.op)) unconnected.push_back(op->conn);
    return false;
  });
  return any_step(c.steps, [&](const Step& s) {
    if (auto* send = std::get_if<SendOp>(&s.op)) {
      if (send->to) return names_target(send->to);
      return std::find(unconnected.begin(), unconnected.end(), send->conn) != unconnected.end();
    }
    auto* cn = std::get_if<ConnectOp>(&s.op);
    return cn && cn->transport.value_or(suite_transport) == Transport::udp && names_target(cn->to);
  });
}

std::string lossy_hint(const scenario::Case& c, scenario::Transport suite_transport,
                       const ImpairOption& o) {
  if (!o.spec || scenario::uses_impair(c.steps) || !strikes_datagrams(*o.spec) ||
      needs(c, "lossless-datagrams") || !sends_datagrams_to_target(c, suite_transport))
    return "";
  return "this case sends datagrams to the target under --impair " + o.spec->text +
         "; if it counts on every one arriving, mark it \"requires\": [\"lossless-datagrams\"] "
         "and it is skipped under such conditions";
}

Impaired impair_target(const engine::Target& target, const impair::Spec& spec, uint64_t seed) {
  Impaired out;
  out.proxy = impair::Proxy::start({target.addr, spec, seed}, out.error);
  if (!out.proxy) return out;
  out.target = target;
  out.target.addr = out.proxy->address();
  out.target.host = out.proxy->address().host();
  return out;
}

PacketSetup packet_setup(const ImpairOption& o, const TargetSpec& spec,
                         const std::string& server_cmd, uint64_t seed) {
  PacketSetup p;
  if (spec.builtin.empty() && server_cmd.empty()) {
    p.error =
        "--impair-level packet runs the server in a network namespace of its own, so it needs a "
        "server sockspec starts: --target builtin:SERVICE or --server-cmd 'CMD {port}' (which "
        "must listen on {host} or on every address)";
    return p;
  }
  p.link = impair::PacketLink::create(*o.spec, seed, p.error);
  if (!p.link) return p;
  p.spec = spec;
  p.spec.host = p.link->guest_host();
  p.netns_fd = p.link->netns_fd();
  return p;
}

std::string describe_impairment(const impair::Conditions& c, const std::string& started_as,
                                const char* what) {
  std::string now = c.spec().text;
  std::string s = started_as.empty() ? "none" : started_as;
  if (now != started_as && !(now == "none" && started_as.empty())) s += ", then " + now;
  return s + " (" + what + ": " + impair::describe(c.stats()) + ")";
}

}  // namespace sockspec::runner
