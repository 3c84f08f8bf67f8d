// What every step of a case can see: the target, the run's seed, the managed server.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>

#include "impair/conditions.h"
#include "net/address.h"
#include "net/event_loop.h"
#include "net/tls.h"

namespace sockspec::engine {

class StepCache;

struct Target {
  std::string name;  // as the user wrote it: "builtin:echo", "localhost:7"
  std::string host;  // ${target.host}: the host part as given, or the resolved address
  net::SockAddr addr;
  // tls:HOST:PORT: every TCP connect to the target (that does not say "tls": false) runs a
  // TLS handshake. `tls_settings` are the run's (--tls-*), also under any step's "tls".
  bool tls = false;
  net::TlsSettings tls_settings;
};

// Control of a server the harness started. Calls never block for long: the `server`
// step polls them on a timer so the case's other clients keep running.
class ServerControl {
 public:
  enum class Probe { ready, not_yet, exited };
  virtual ~ServerControl() = default;
  virtual bool running() const = 0;
  virtual std::string start() = 0;            // "" or why it could not start
  virtual void signal(int sig) = 0;           // to the server's process group
  virtual bool reap() = 0;                    // true once the process has exited
  virtual Probe probe(std::string& why) = 0;  // accepting yet?
};

struct CaseEnv {
  const Target& target;
  uint64_t seed = 0;
  uint64_t default_timeout_ms = 2000;
  ServerControl* server = nullptr;  // null: no managed server
  net::EventLoop& loop;
  std::function<std::optional<std::string>(const std::string&)> getenv;
  bool udp_sequence = false;  // load: tag UDP datagrams (see UdpSequence)
  // load: bind each client's connects (that name no bind) to 127.0.0.(1 + client % N), so
  // an IPv4 loopback target can take more connections than one source's ephemeral ports.
  unsigned source_addresses = 0;
  // load: payloads and matchers that stay the same for the whole run, built once per step.
  StepCache* step_cache = nullptr;
  // load: passing steps carry no message. Nobody reads them there, and formatting one (an
  // address, a number) costs more than checking the reply.
  bool brief = false;
  // TCP sends are kept until the next expect for `echo` matchers (up to kMaxEchoBytes per conn).
  // A load profile with no echo matcher turns it off: a stream would hold 64 MiB per conn.
  bool keep_sent = true;
  // The case's impairment relay (`impair` steps change it); null when none runs.
  impair::Conditions* impair = nullptr;
  // `run --timeout-scale`: multiplies every step's and case's timeout (not sleeps or silence
  // windows, which are the scenario's own durations).
  double timeout_scale = 1.0;
  // TLS: the contexts and session tickets of this loop's connections (made on first use), and
  // who hears of each handshake that finished (load: its histograms); may be empty.
  std::shared_ptr<net::TlsClient> tls;
  std::function<void(double ms, bool ok, bool resumed)> on_handshake;
};

// A timeout after --timeout-scale, and how a failure names it: "5000 ms (the step's
// timeout_ms)", or "15000 ms (the step's timeout_ms of 5000 ms, x3 by --timeout-scale)".
struct ScaledTimeout {
  uint64_t ms = 0;
  std::string what;
};
ScaledTimeout scale_timeout(uint64_t ms, const char* whose, double scale);

}  // namespace sockspec::engine
