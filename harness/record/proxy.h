// `sockspec record`: a transparent proxy between real clients and a real server that turns
// each client's session into a scenario case (record/session). It owns its sockets; the
// scenario it hands back is written by the caller.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "net/tls.h"
#include "record/session.h"
#include "scenario/model.h"

namespace sockspec::record {

struct ProxyOptions {
  std::string listen;                                        // host:port, unix:PATH, unixgram:PATH
  std::string upstream;                                      // the same forms
  scenario::Transport transport = scenario::Transport::tcp;  // stream or datagram sockets
  RecordOptions record;
  uint64_t sessions = 0;  // streams: stop once this many sessions have ended (0: until stopped)
  int cancel_fd = -1;     // readable: stop, and hand back what was recorded
  // Record through TLS: the clients' TLS ends here, with the server's own certificate and key
  // (tls_server), and the proxy speaks TLS on to the server with upstream_tls.
  const net::TlsServer* tls_server = nullptr;
  net::TlsSettings upstream_tls;
};

struct Recorded {
  std::vector<scenario::Case> cases;  // one per client session, in the order they began
  int exit_code = 0;                  // 2: bad address or cannot listen; 3: upstream unreachable
  std::string error;
};

// Prints "listening tcp ADDR:PORT" (or "listening unix PATH" ...) to `out` once it listens,
// and one line to `err` per session that could not be relayed.
Recorded record_sessions(const ProxyOptions& options, std::ostream& out, std::ostream& err);

}  // namespace sockspec::record
