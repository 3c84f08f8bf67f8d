// The run as it goes, for watchers (`--metrics`, `--push`, the live dashboard): each generator
// thread hands its figures over ten times a second through a LiveFeed, and the driver's watcher
// merges them into one LoadResult for a LiveSink. The hand-over is a try-lock: a generator
// thread never waits for the watcher, it offers again on its next booking instead.
#pragma once

#include <cstddef>
#include <memory>
#include <mutex>
#include <vector>

#include "reports/model.h"
#include "reports/thresholds.h"

namespace sockspec::load {

// Receives the merged run ten times a second on the driver's watcher thread. `so_far` holds the
// totals, histograms and per-second series up to now; its duration_s is the measured time so
// far (so the second under way is drawn as the part of a second it is), achieved_rate is over
// it, and the thresholds are judged on it. `elapsed_s` counts from the first start (warm-up
// included) of `total_s` planned.
class LiveSink {
 public:
  virtual ~LiveSink() = default;
  virtual void update(const reports::LoadResult& so_far, double elapsed_s, double total_s) = 0;
};

// One generator thread's mailbox.
class LiveFeed {
 public:
  static constexpr size_t kNone = static_cast<size_t>(-1);

  // Generator thread: copies `part`'s totals and its series from `changed_from` on, unless the
  // watcher is reading right now (false: nothing was copied; offer again later).
  bool offer(reports::LoadResult& part, size_t changed_from);

  // Watcher: what was offered since the last take. `totals` is swapped with the offered totals
  // (its series untouched); `series` gets the offered seconds in place. Returns the first
  // second that changed, or kNone when nothing new came.
  size_t take(reports::LoadResult& totals, std::vector<reports::Interval>& series);

 private:
  std::mutex mutex_;
  bool fresh_ = false;
  size_t from_ = 0;
  reports::LoadResult totals_;              // series left empty
  std::vector<reports::Interval> seconds_;  // the series from from_ on
};

// The watcher's side: every thread's last figures and the merged run.
class LiveBoard {
 public:
  explicit LiveBoard(size_t threads);
  LiveFeed* feed(size_t i) { return &feeds_[i]; }

  // Takes what the threads offered and merges it; `shape` gives the run's settings (profile,
  // executor, connections, duration...) and thresholds, copied onto the merged result.
  // `measured_s`: seconds of the measured window gone so far (0 during warm-up).
  const reports::LoadResult& collect(const reports::LoadResult& shape,
                                     const std::vector<reports::Threshold>& thresholds,
                                     double measured_s);

 private:
  struct View {
    reports::LoadResult totals;
    std::vector<reports::Interval> series;
  };
  std::unique_ptr<LiveFeed[]> feeds_;
  std::vector<View> views_;
  reports::LoadResult merged_;
};

}  // namespace sockspec::load
