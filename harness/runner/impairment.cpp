#include "runner/impairment.h"

namespace sockspec::runner {

ImpairOption check_impair_options(const std::string& spec, const std::string& level) {
  ImpairOption o;
  auto lv = impair::parse_level(level);
  if (!lv) {
    o.error = "--impair-level must be stream, datagram or auto, got '" + level + "'";
    return o;
  }
  if (*lv == impair::Level::packet) {
    // Said plainly rather than silently run at another level.
    o.error =
        "--impair-level packet is not available in this version: impairments apply to TCP "
        "streams and UDP datagrams through a relay (--impair-level stream|datagram)";
    return o;
  }
  if (spec.empty()) {
    if (!level.empty()) o.error = "--impair-level needs --impair SPEC";
    return o;
  }
  auto parsed = impair::parse_spec(spec);
  if (!parsed.spec) {
    o.error = "--impair: " + parsed.error;
    return o;
  }
  o.spec = parsed.spec;
  return o;
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

std::string describe_impairment(const impair::Proxy& proxy, const std::string& started_as) {
  std::string now = proxy.spec().text;
  std::string s = started_as.empty() ? "none" : started_as;
  if (now != started_as && !(now == "none" && started_as.empty())) s += ", then " + now;
  return s + " (relay: " + impair::describe(proxy.stats()) + ")";
}

}  // namespace sockspec::runner
