// What one direction of an impaired link does to each datagram (or IP packet): drop,
// truncate, corrupt, duplicate, hold back behind the next one, delay with jitter, and pace to
// a rate. Pure: the caller says what arrived and when, and sends what comes out when it is
// due, so every decision is reproducible from the seed and checked without sockets.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "impair/spec.h"

namespace sockspec::impair {

using TimePoint = std::chrono::steady_clock::time_point;

// Per direction. `arrived` counts what came in; every other field counts what was done to it.
struct Counts {
  uint64_t arrived = 0;
  uint64_t sent = 0;  // copies handed on, duplicates included
  uint64_t dropped = 0;
  uint64_t overflowed = 0;  // dropped because the rate-limited link had a full queue
  uint64_t duplicated = 0;
  uint64_t reordered = 0;
  uint64_t corrupted = 0;
  uint64_t truncated = 0;
  Counts& operator+=(const Counts& o);
};

struct Emit {
  TimePoint when;
  std::string bytes;
  uint64_t tag = 0;    // the caller's: which flow the datagram belongs to
  TimePoint stamp;     // when it was read (admit's `now`): `when` is never before stamp + delay
  uint64_t index = 0;  // its arrival number in this direction, from 1
};

// A small, fast, seedable generator (splitmix64): the same seed gives the same faults.
class Random {
 public:
  explicit Random(uint64_t seed) : state_(seed) {}
  uint64_t next();
  double unit() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }  // [0, 1)

 private:
  uint64_t state_;
};

// `d.delay` with its jitter drawn from `random`: uniform in [delay - jitter, delay + jitter],
// never negative. Datagrams and stream chunks draw their delay the same way.
Duration draw_delay(const Direction& d, Random& random);

class Shaper {
 public:
  // A held-back datagram waits for the next one this long at most.
  static constexpr std::chrono::milliseconds kReorderHold{100};
  // The rate-limited link queues this much at most; later datagrams are dropped (overflowed).
  static constexpr std::chrono::seconds kQueueLimit{2};

  Shaper(const Direction& d, uint64_t seed) : dir_(d), random_(seed) {}
  // New conditions from now on; counts and what is in flight are kept.
  void set(const Direction& d) { dir_ = d; }
  const Direction& direction() const { return dir_; }

  // A datagram was read at `now` (a clock reading taken after its recv returned): appends the
  // copies to send, each with its due time.
  void admit(std::string bytes, uint64_t tag, TimePoint now, std::vector<Emit>& out);
  // When a held-back datagram must go even if no other comes; nullopt when none is held.
  std::optional<TimePoint> hold_deadline() const;
  // Sends the held-back datagram if its wait is over.
  void expire(TimePoint now, std::vector<Emit>& out);

  const Counts& counts() const { return counts_; }

 private:
  bool strikes(const Chance& c, uint64_t index);
  TimePoint departure(size_t size, TimePoint now);

  Direction dir_;
  Random random_;
  Counts counts_;
  TimePoint link_free_{};  // when the rate-limited link finishes what it already carries
  std::optional<Emit> held_;
  TimePoint held_until_{};
};

}  // namespace sockspec::impair
