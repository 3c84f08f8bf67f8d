// A named socket inside a case, with what the steps need to remember about it.
#pragma once

#include <map>
#include <string>

#include "net/address.h"
#include "net/fd.h"
#include "scenario/model.h"

namespace sockspec::engine {

// Echo matching keeps what was sent; past this size the echo check refuses rather than
// hold unbounded memory (fill payloads can be matched without a copy).
inline constexpr size_t kMaxEchoBytes = 64u << 20;

struct Conn {
  enum class Kind { stream, listener, udp_connected, udp_open };
  net::Fd fd;
  Kind kind = Kind::stream;
  scenario::Transport transport = scenario::Transport::tcp;
  net::SockAddr peer;  // connected peer; for udp_open, the default destination (target)

  std::string rx;       // TCP bytes received and not yet consumed by an expect
  bool eof = false;     // TCP FIN seen
  int reset_errno = 0;  // ECONNRESET / EPIPE once the connection is known dead

  std::string sent_since_expect;  // TCP: for `echo` matchers
  bool sent_overflow = false;
  std::string last_datagram;  // UDP: for `echo` matchers
};

using Conns = std::map<std::string, Conn>;

}  // namespace sockspec::engine
