// A named socket inside a case, with what the steps need to remember about it.
#pragma once

#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "codec/frame.h"
#include "net/address.h"
#include "net/fd.h"
#include "net/tls.h"
#include "scenario/model.h"

namespace sockspec::engine {

// Echo matching keeps what was sent; past this size the echo check refuses rather than
// hold unbounded memory (fill payloads can be matched without a copy).
inline constexpr size_t kMaxEchoBytes = 64u << 20;

// Load runs with "udp_sequence": every datagram sent carries a tag, "#%016llX#" (hex digits and
// '#' survive the upper-case service), so replies that are lost, duplicated, late or out of
// order can be told apart from wrong ones.
// Sent and not yet matched, oldest first. Tags go out in order and are settled oldest first, so
// this is always one range [from, to): a count, not a list, for a run that sends millions.
struct TagRange {
  uint64_t from = 0, to = 0;
  bool empty() const { return from == to; }
  uint64_t front() const { return from; }
  void pop_front() { ++from; }
  void extend_to(uint64_t end) { to = end; }  // every tag below `end` was sent
  bool contains(uint64_t tag) const { return tag >= from && tag < to; }
};

struct UdpSequence {
  static constexpr size_t kTagSize = 18;
  uint64_t next = 0;                       // the tag of the next datagram
  TagRange waiting;                        // sent, not yet matched, oldest first
  std::set<uint64_t> answered, abandoned;  // matched; given up on (their expect timed out)
  std::map<uint64_t, std::string> early;   // replies that came before their expect (reordered)
  uint64_t sent = 0, lost = 0, duplicates = 0, late = 0, reordered = 0;

  static std::string tag(uint64_t n);
  static void write_tag(char* out, uint64_t n);  // kTagSize bytes at out
  static std::optional<uint64_t> parse(std::string_view datagram);
  void forget_old();  // keeps the sets bounded on long runs
};

struct Datagram {
  std::string bytes;
  size_t full_size = 0;  // larger than bytes.size() when the kernel truncated it
  net::SockAddr from;
};

struct Conn {
  enum class Kind { stream, listener, udp_connected, udp_open };
  net::Fd fd;
  Kind kind = Kind::stream;
  scenario::Transport transport = scenario::Transport::tcp;
  net::SockAddr peer;  // connected peer; for udp_open, the default destination (target)

  std::string rx;       // TCP bytes received and not yet consumed by an expect
  bool eof = false;     // TCP FIN seen
  int reset_errno = 0;  // ECONNRESET / EPIPE once the connection is known dead
  // TLS on this stream (connect with tls, or starttls): reads and writes go through it. The
  // end of its stream is `eof` too; `close_notify` says the peer ended it properly (a bare
  // FIN is also what a truncation attack looks like).
  std::unique_ptr<net::TlsSession> tls;
  bool close_notify = false;
  std::string tls_error;              // why the last TLS read or write failed
  std::optional<codec::Frame> frame;  // TCP: each expect takes one whole message (connect/accept)

  std::string sent_since_expect;  // TCP: for `echo` matchers
  bool sent_overflow = false;
  // UDP: received in a batch, not yet taken by a step (at most a batch; a vector, because an
  // empty deque still allocates, and 15,000 idle conns would pay for it).
  std::vector<Datagram> inbox;
  std::string last_datagram;              // UDP: for `echo` matchers (without any sequence tag)
  std::unique_ptr<UdpSequence> sequence;  // set on UDP conns of load runs with udp_sequence
  // Totals for load reports, collected (and zeroed) by the load driver after each iteration.
  uint64_t datagrams_sent = 0, bytes_sent = 0, bytes_received = 0;
  bool no_gso = false;  // the kernel refused UDP_SEGMENT on this socket once
};

using Conns = std::map<std::string, Conn>;

}  // namespace sockspec::engine
