// One generator thread's part of a load result: iterations, errors, histograms, the per-second
// series. The thread's virtual users and pipelines report into it; nothing here is shared
// between threads (the progress counters are atomics the watcher only reads).
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <string>

#include "load/live_feed.h"
#include "load/udp_ledger.h"
#include "net/event_loop.h"
#include "reports/model.h"

namespace sockspec::load {

using TimePoint = net::Clock::time_point;

uint64_t ns_between(TimePoint a, TimePoint b);

struct ProgressCounters {
  std::atomic<uint64_t>& done;
  std::atomic<uint64_t>& errors;
  std::atomic<uint64_t>& p99;
  LiveFeed* live = nullptr;  // set when the run is watched (--metrics, --push)
};

class Tally {
 public:
  explicit Tally(ProgressCounters progress) : progress_(progress) {}
  // The measured window; until it is set nothing counts.
  void window(TimePoint measure_from, TimePoint end) {
    measure_from_ = measure_from;
    end_ = end;
  }

  // True for starts inside the measured window (not warm-up, not after the end).
  bool counts(TimePoint intended) const { return intended >= measure_from_ && intended < end_; }
  // A warm-up request that failed at `now`: when that is inside the window or after it, the
  // request held its place into the measured time, and its failure counts there (at the clamped
  // moment); otherwise `intended`, which does not count.
  TimePoint held_into_window(TimePoint intended, TimePoint now) const {
    if (intended >= measure_from_ || now < measure_from_) return intended;
    return std::min(now, end_ - std::chrono::nanoseconds(1));
  }

  // A passed iteration: `first` its first send, `last` its last reply; latency from `from`
  // (the intended start in an open loop, the first send in a closed one).
  void passed(TimePoint intended, TimePoint started, TimePoint from, TimePoint first,
              TimePoint last);
  // A failed iteration; `sample` is kept among the first few errors.
  void failed(TimePoint intended, reports::ErrorSample sample);
  // A TLS handshake that ended at `now` (ok: finished, else failed), if inside the window.
  void handshake(TimePoint now, double ms, bool ok, bool resumed);
  // UDP counts: the change since the last call, booked in the second of `at`.
  void udp(const UdpCounts& before, const UdpCounts& now, TimePoint at);

  reports::LoadResult& part() { return part_; }
  const reports::LoadResult& part() const { return part_; }
  // When this thread's last counted iteration ended (the start of the window if none did).
  TimePoint last_counted() const { return std::max(last_counted_, measure_from_); }

 private:
  // The per-second entry of the series for a moment `t` of the measured window.
  reports::Interval& second(TimePoint t);

  TimePoint measure_from_ = TimePoint::max(), end_ = TimePoint::max(), last_counted_{};
  ProgressCounters progress_;
  // Watched runs: every tenth of a second of the schedule makes an offer due (so a counter
  // scraped each second moves smoothly); it is retried on each booking until the watcher is
  // not reading. The last tenth offered, and the first second changed since the last offer:
  bool offer_due_ = false;
  int64_t offered_tenth_ = -1;
  size_t changed_from_ = LiveFeed::kNone;
  reports::LoadResult part_;
};

}  // namespace sockspec::load
