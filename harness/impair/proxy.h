// The impairment layer between sockspec's clients and the target: a relay on its own thread,
// listening on a fresh loopback port (TCP and UDP on the same number), that forwards to the
// real target through two Shapers (datagrams) or two stream pumps (TCP), one per direction.
// The engine only sees a different target address; `impair` steps change the conditions
// while it runs.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "impair/shaper.h"
#include "impair/spec.h"
#include "net/address.h"

namespace sockspec::impair {

// What a stream relay did, over all its connections.
struct StreamCounts {
  uint64_t connections = 0;
  uint64_t bytes_to_server = 0, bytes_to_client = 0;  // forwarded
  uint64_t writes_to_server = 0, writes_to_client = 0;
  uint64_t resets = 0;             // connections ended with RST by a reset-after
  uint64_t closes = 0;             // connections ended with FIN by a close-after
  uint64_t upstream_failures = 0;  // the target refused or did not answer the relay's connect
};

struct Stats {
  Counts to_server, to_client;  // datagrams
  StreamCounts stream;
};

// "datagrams to server: 100 arrived, 10 dropped, ...; stream: 3 connections, ..." (reports)
std::string describe(const Stats& s);

class Proxy {
 public:
  struct Options {
    net::SockAddr upstream;
    Spec spec;
    uint64_t seed = 0;
  };
  // Binds and starts the relay thread; null with `error` set when it could not.
  static std::unique_ptr<Proxy> start(const Options& o, std::string& error);
  ~Proxy();  // stops the thread, closes every relayed connection
  Proxy(const Proxy&) = delete;
  Proxy& operator=(const Proxy&) = delete;

  // Where clients go instead of the target (same family, loopback, a fresh port).
  const net::SockAddr& address() const;
  // New conditions from now on, for connections already open too. Thread-safe.
  void set(const Spec& spec);
  Spec spec() const;
  Stats stats() const;  // thread-safe snapshot

  struct Impl;

 private:
  explicit Proxy(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace sockspec::impair
