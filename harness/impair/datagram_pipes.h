// Both directions of a datagram (or packet) link: a Shaper each, and the datagrams they
// decided to send, held until due. Used by the UDP relay and the packet link alike; the
// caller owns the sockets and says how a due datagram is sent.
#pragma once

#include <functional>
#include <optional>
#include <queue>
#include <string>
#include <vector>

#include "impair/shaper.h"
#include "impair/spec.h"

namespace sockspec::impair {

class DatagramPipes {
 public:
  DatagramPipes(const Spec& spec, uint64_t seed);
  void set(const Spec& spec);

  void admit(bool to_server, std::string bytes, uint64_t tag, TimePoint now);
  // The earliest time something is due (a held datagram, a delayed one); nullopt when idle.
  std::optional<TimePoint> next_due() const;
  // Hands every datagram due by `now` to `send`, in due order.
  void deliver(TimePoint now, const std::function<void(bool to_server, const Emit&)>& send);

  const Counts& to_server() const { return up_.counts(); }
  const Counts& to_client() const { return down_.counts(); }

 private:
  struct Pending {
    TimePoint when;
    uint64_t seq;  // equal times leave in the order they were decided
    bool to_server;
    Emit emit;
    bool operator>(const Pending& o) const { return when != o.when ? when > o.when : seq > o.seq; }
  };
  void take(bool to_server);

  Shaper up_, down_;
  std::priority_queue<Pending, std::vector<Pending>, std::greater<>> pending_;
  std::vector<Emit> scratch_;
  uint64_t seq_ = 0;
};

}  // namespace sockspec::impair
