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
// Under conditions that slow traffic down (delay, rate, slicing with pauses) or lose it (TCP
// then waits for retransmission timeouts: 200 ms and more, doubling), every timeout is this many
// times longer unless --timeout-scale says otherwise. A suite's 5 s per step becomes 15 s: a
// segment or SYN lost three times in a row is still recovered (1 + 2 + 4 s of SYN backoff, on
// top of the delay) while a server that never answers is still caught.
inline constexpr double kImpairedTimeoutScale = 3;
double timeout_scale(double asked, const ImpairOption& o);

// The suites say what they need (`requires`: `clean-network`, `lossless-datagrams`).
std::string unfit_under(const scenario::Case& c, const ImpairOption& o);

// Whether a case sends UDP to the target: through a connected UDP socket, or a datagram sent to
// it. Built-in suites mark such cases lossless-datagrams (a test checks it with this).
bool sends_datagrams_to_target(const scenario::Case& c, scenario::Transport suite_transport);
// For a failed case that sends datagrams under lossy conditions without saying whether it
// counts on every one: how to say so. "" when that is not the case.
std::string lossy_hint(const scenario::Case& c, scenario::Transport suite_transport,
                       const ImpairOption& o);

// `what` names the layer: "relay" or "packet link".
std::string describe_impairment(const impair::Conditions& c, const std::string& started_as,
                                const char* what = "relay");

}  // namespace sockspec::runner
