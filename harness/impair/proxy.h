// The impairment layer between sockspec's clients and the target: a relay on its own thread,
// listening on a fresh loopback port (TCP and UDP on the same number), that forwards to the
// real target through two Shapers (datagrams) or two stream pumps (TCP), one per direction.
// The engine only sees a different target address; `impair` steps change the conditions
// while it runs.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "impair/conditions.h"
#include "impair/release_log.h"
#include "impair/spec.h"
#include "net/address.h"

namespace sockspec::impair {

class Proxy : public Conditions {
 public:
  struct Options {
    net::SockAddr upstream;
    Spec spec;
    uint64_t seed = 0;
  };
  // Binds and starts the relay thread; null with `error` set when it could not.
  // `release_log` (tests): every release noted there too (stats() always counts them).
  static std::unique_ptr<Proxy> start(const Options& o, std::string& error,
                                      std::shared_ptr<ReleaseLog> release_log = nullptr);
  ~Proxy() override;  // stops the thread, closes every relayed connection
  Proxy(const Proxy&) = delete;
  Proxy& operator=(const Proxy&) = delete;

  // Where clients go instead of the target (same family, loopback, a fresh port).
  const net::SockAddr& address() const;
  // New conditions apply to connections already open too.
  void set(const Spec& spec) override;
  Spec spec() const override;
  Stats stats() const override;

  struct Impl;

 private:
  explicit Proxy(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace sockspec::impair
