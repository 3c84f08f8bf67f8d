// --impair and --impair-level for `run` and `load`: checked as usage, and what puts the
// conditions between the clients and the target: a relay (stream and datagram level) or a
// packet link with the managed server in a network namespace (packet level).
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "engine/context.h"
#include "impair/packet_link.h"
#include "impair/proxy.h"
#include "runner/target.h"
#include "scenario/model.h"

namespace sockspec::runner {

struct ImpairOption {
  std::optional<impair::Spec> spec;  // none when --impair was not given
  impair::Level level = impair::Level::automatic;
  std::string error;  // a usage error (exit 2)
  bool packet() const { return spec && level == impair::Level::packet; }
};
ImpairOption check_impair_options(const std::string& spec, const std::string& level);

// A relay in front of `target`; the returned target leads through it.
struct Impaired {
  std::unique_ptr<impair::Proxy> proxy;
  engine::Target target;
  std::string error;
};
Impaired impair_target(const engine::Target& target, const impair::Spec& spec, uint64_t seed);

// Packet level: the link, and the target spec whose managed server starts behind it (pass
// `netns_fd` to prepare_target). `error` is a usage problem (exit 2): no managed server, or
// no root.
struct PacketSetup {
  std::unique_ptr<impair::PacketLink> link;
  TargetSpec spec;
  int netns_fd = -1;
  std::string error;
};
PacketSetup packet_setup(const ImpairOption& o, const TargetSpec& spec,
                         const std::string& server_cmd, uint64_t seed);

// "delay 50ms, then loss 100% (relay: datagrams to server: 10 arrived, ...)" for reports.
// Why a case cannot hold under the run's conditions (it is skipped with this reason), or ""
// when it can. Cases with impair steps of their own choose their conditions, except at packet
// level, where the link's conditions stay underneath.
std::string unfit_under(const scenario::Case& c, scenario::Transport suite_transport,
                        const ImpairOption& o);

// `what` names the layer: "relay" or "packet link".
std::string describe_impairment(const impair::Conditions& c, const std::string& started_as,
                                const char* what = "relay");

}  // namespace sockspec::runner
