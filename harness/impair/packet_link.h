// Packet-level impairment, as tc-netem gives on a real link, without netem: the server runs in
// a network namespace of its own, reached over a pair of TUN devices (one here, one there)
// between which this link's thread passes every IPv4 packet through the shapers. Loss here
// means real TCP retransmissions and RTOs in both kernels.
//
// Nothing outlives the process: the namespace is never named (no `ip netns`), so it goes when
// the last process in it and this object's descriptor go, and TUN devices that are not
// persistent vanish with their descriptors, on SIGKILL too.
#pragma once

#include <memory>
#include <string>

#include "impair/conditions.h"
#include "impair/release_log.h"
#include "net/fd.h"

namespace sockspec::impair {

class PacketLink : public Conditions {
 public:
  // Needs CAP_NET_ADMIN (root). Null with `error` saying why, and what to use instead.
  // `release_log` (tests): every packet's release noted there too.
  static std::unique_ptr<PacketLink> create(const Spec& spec, uint64_t seed, std::string& error,
                                            std::shared_ptr<ReleaseLog> release_log = nullptr);
  ~PacketLink() override;
  PacketLink(const PacketLink&) = delete;
  PacketLink& operator=(const PacketLink&) = delete;

  // The server's address inside the namespace ("198.18.X.Y"), and the namespace itself
  // (an open /proc/.../ns/net, for setns() in the child that becomes the server).
  const std::string& guest_host() const;
  int netns_fd() const;

  void set(const Spec& spec) override;
  Spec spec() const override;
  Stats stats() const override;

  struct Impl;

 private:
  explicit PacketLink(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace sockspec::impair
