// A reference server: binds, says where it listens, serves until told to stop.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>

#include "reference_servers/protocol.h"

namespace sockspec::refserver {

struct Config {
  Service service = Service::echo;
  bool tcp = true;
  bool udp = true;
  std::string bind = "127.0.0.1";
  uint16_t port = 0;  // 0: ephemeral; with both transports, TCP and UDP share the number
  // Serve on this AF_UNIX path ("@name": abstract) instead: a stream socket for tcp, a
  // datagram socket for udp (one of them). The file is removed when the server stops.
  std::string unix_path;
  unsigned threads = 1;
  Fault fault = Fault::none;
  unsigned idle_timeout_s = 0;   // 0: never
  unsigned max_connections = 0;  // 0: unlimited
  unsigned chat_ttl_s = 60;
  unsigned delay_ms = 1500;      // for the slow fault
  unsigned delay_us = 0;         // the slow fault's delay in microseconds instead, when set
  unsigned busy_us = 1000;       // for the busy fault
  bool sockperf_compat = false;  // echo only: see SockperfFramer
  bool reuseport = false;        // SO_REUSEPORT: several servers share one port (scale-out)
  // The udp-schedule fault (see UdpSchedule); 0 turns a rule off.
  unsigned drop_every = 0, duplicate_every = 0, hold_every = 0;
  // TLS on the stream socket (TCP or AF_UNIX stream); UDP stays plain, so with tls a udp
  // socket is refused.
  struct Tls {
    bool enabled = false;
    // PEM certificate (chain) and key, both or neither; neither: a generated throw-away
    // self-signed certificate (see CertKind in tls.h), which the tls-* cert faults need.
    std::string cert_file, key_file;
    // Where to write the generated certificate's PEM; empty: a fresh file under $TMPDIR (or
    // /tmp), removed when the server stops. A named file is left in place.
    std::string cert_out;
  } tls;
};

// Prints "listening tcp ADDR:PORT" / "listening udp ADDR:PORT" (or "listening unix PATH" /
// "listening unixgram PATH") to `out` (flushed) once bound,
// then serves until `stop_fd` becomes readable. With TLS it first prints "tls certificate PATH",
// the PEM file of the certificate served (a client's trust anchor). OpenSSL writes with
// write(2), so with TLS the caller must ignore SIGPIPE (the CLI and the tests do). Returns a
// process exit code; reasons go to `err`.
int serve(const Config& config, int stop_fd, std::ostream& out, std::ostream& err);

}  // namespace sockspec::refserver
