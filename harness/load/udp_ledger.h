// The tagged datagrams of one UDP socket with several in flight: which replies are on time,
// reordered, duplicated or late, and which datagrams were lost. Pure (no sockets, no clock):
// the pipeline tells it what was sent, what came back and what timed out.
//
// Definitions (docs/load.md has a worked example):
// - lost: no reply within the datagram's timeout (late ones stay counted as lost);
// - late: a first reply to a datagram already declared lost;
// - duplicate: any further reply to a datagram already answered (on time or late);
// - reordered: an on-time reply that arrives after the reply to a datagram sent later.
#pragma once

#include <cstdint>
#include <deque>
#include <set>

namespace sockspec::load {

struct UdpCounts {
  uint64_t sent = 0, lost = 0, late = 0, duplicates = 0, reordered = 0;
};

class UdpLedger {
 public:
  enum class Reply { on_time, reordered, duplicate, late, unknown };

  // The next tag to send; sent() records it. Tags run 0, 1, 2, ... on each socket.
  uint64_t next_tag() const { return next_; }
  // Datagrams from this one on are counted (the measured window began); earlier ones (warm-up)
  // and every reply to them are left out of the counts.
  void count_from_next() { counted_from_ = next_; }
  void sent();
  // A datagram recorded by sent() that could not be sent after all: it is neither sent nor
  // awaited (its tag is not used again).
  void unsent(uint64_t tag);
  // A reply carrying `tag`. on_time and reordered: the caller now matches it to its datagram.
  Reply reply(uint64_t tag);
  // The datagram's timeout passed without a reply: it is lost.
  void expired(uint64_t tag);
  bool counted(uint64_t tag) const { return tag >= counted_from_; }
  const UdpCounts& counts() const { return counts_; }

 private:
  enum class State : uint8_t { waiting, answered, lost, late, unsent };
  void trim();

  // States of tags [base_, next_): from the oldest still awaited to the newest sent. Below
  // base_ every tag is settled: answered, unless it is in lost_below_ (lost, no reply yet).
  std::deque<State> window_;
  uint64_t base_ = 0, next_ = 0, counted_from_ = ~0ull;
  uint64_t newest_answered_ = 0;
  bool any_answered_ = false;
  std::set<uint64_t> lost_below_;
  UdpCounts counts_;
};

}  // namespace sockspec::load
