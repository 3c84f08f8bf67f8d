// The udp-schedule fault: loss, duplicates and reordering on a fixed schedule, counted, so a
// test can compare what a load generator saw with what the server did. Pure (no sockets).
//
// Each client address has its own datagram counter n = 1, 2, 3, ...; the reply to datagram n is
// dropped when n is a multiple of `drop_every`, else held back when n is a multiple of
// `hold_every` (and nothing is held yet), else sent, twice when n is a multiple of
// `duplicate_every`. A held reply is sent right after the client's next reply that is sent: it
// arrives after the reply to a later datagram (reordered). 0 turns a rule off.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

namespace sockspec::refserver {

struct UdpScheduleCounts {
  uint64_t received = 0, dropped = 0, duplicated = 0, reordered = 0, held = 0;  // held: still
};

class UdpSchedule {
 public:
  UdpSchedule(unsigned drop_every, unsigned duplicate_every, unsigned hold_every)
      : drop_(drop_every), dup_(duplicate_every), hold_(hold_every) {}
  // The datagrams to send now, in order, for a request from `peer` whose reply is `reply`.
  std::vector<std::string> on_request(const std::string& peer, std::string reply);
  UdpScheduleCounts counts() const;
  // "udp-schedule: received R dropped D duplicated U reordered O held H" (one line).
  void print(std::ostream& out) const;

 private:
  struct Peer {
    uint64_t n = 0;
    std::optional<std::string> held;
  };
  unsigned drop_, dup_, hold_;
  std::map<std::string, Peer> peers_;
  UdpScheduleCounts counts_;
};

}  // namespace sockspec::refserver
