// Runs a load profile: per-thread event loops, each with its own virtual users, counters and
// histograms (nothing shared on the hot path), merged into one LoadResult after the run.
#pragma once

#include <atomic>
#include <functional>

#include "engine/context.h"
#include "load/live_feed.h"
#include "load/profile.h"
#include "reports/model.h"

namespace sockspec::load {

struct LoadOptions {
  engine::Target target;
  uint64_t seed = 0;
  // Overrides of the profile; 0 keeps the profile's value.
  double duration_s = 0, warmup_s = -1, rate = 0;
  unsigned connections = 0, threads = 0, in_flight = 0;
  bool in_flight_auto = false;  // --in-flight auto: size the windows for the rate (window.h)
  bool busy_poll = false;       // generator threads spin instead of sleeping (see EventLoop)
  int cancel_fd = -1;
  uint64_t first_user = 0;   // users are numbered (${client}) from here: a shard's slice start
  LiveSink* live = nullptr;  // given the run so far ten times a second (--metrics, --push)
};

// What the progress line shows, read while the run goes on.
struct Progress {
  double elapsed_s = 0, total_s = 0;
  uint64_t iterations = 0, errors = 0;
  uint64_t last_p99_ns = 0;
};

reports::LoadResult run_load(const Profile& profile, const LoadOptions& options,
                             const std::function<void(const Progress&)>& on_second);

}  // namespace sockspec::load
