// What the engine and the runner see of an impairment layer, whichever level it works at,
// and the mailbox that carries new conditions to its thread and its counts back.
#pragma once

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>

#include "impair/release_log.h"
#include "impair/shaper.h"
#include "impair/spec.h"
#include "net/fd.h"

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
  Counts to_server, to_client;  // datagrams, or IP packets at packet level
  StreamCounts stream;
  ReleaseCounts releases;  // chunks and datagrams passed on, and any before their due time
  const char* unit = "datagrams";
};

// "datagrams to server: 100 arrived, 10 dropped, ...; stream: 3 connections, ..." (reports)
std::string describe(const Stats& s);

class Conditions {
 public:
  virtual ~Conditions() = default;
  // New conditions from now on; returns once they apply. Thread-safe.
  virtual void set(const Spec& spec) = 0;
  virtual Spec spec() const = 0;
  virtual Stats stats() const = 0;  // a snapshot
};

// Between a caller's thread and a relay thread: new specs one way (waking the relay through
// an eventfd), counts the other.
class Mailbox {
 public:
  explicit Mailbox(const Spec& initial);
  bool ok() const { return static_cast<bool>(wake_); }
  int wake_fd() const { return wake_.get(); }

  // Caller's side.
  void post(const Spec& spec);  // returns once the relay took it (2 s at most)
  void stop();                  // asks the relay thread to end
  Spec spec() const;
  // Counts that include everything the relay did before this call (it waits, 2 s at most, for
  // the relay's next publish): a case that just saw a reset finds the reset counted.
  Stats stats() const;

  // Relay's side: after wake_fd() was readable.
  std::optional<Spec> take();
  bool stopping() const { return stopping_.load(std::memory_order_relaxed); }
  void publish(const Stats& s);

 private:
  void ring() const;
  net::Fd wake_;
  mutable std::mutex mu_;
  std::condition_variable taken_cv_;
  Spec spec_;
  uint64_t wanted_ = 0, taken_ = 0;  // generations of spec_
  Stats published_;
  mutable uint64_t stats_asked_ = 0;
  uint64_t stats_answered_ = 0;  // stats_asked_ as it was at the last publish
  mutable std::condition_variable published_cv_;
  std::atomic<bool> stopping_{false};
};

}  // namespace sockspec::impair
