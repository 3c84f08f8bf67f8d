#include "load/worker.h"

#include <algorithm>

namespace sockspec::load {

void Worker::run() {
  // An open loop with in-flight windows opens its connections before t0, so the first starts
  // find them ready (a start with no room is missed, not delayed). Bounded by a step timeout.
  if (pipelined() && open_loop()) {
    for (auto& v : vus_) loop_.arm_timer(*v, Clock::now());
    Watchdog& limit = ready_limit_;
    loop_.arm_timer(limit, Clock::now() + std::chrono::milliseconds(p_.default_timeout_ms));
    loop_.run(
        [&] {
          return limit.fired ||
                 std::all_of(vus_.begin(), vus_.end(), [](auto& v) { return v->ready(); });
        },
        o_.cancel_fd);
    loop_.disarm(limit);
  }
  line_.ready.arrive_and_wait();
  t0_ = line_.t0;
  measure_from_ = line_.measure_from;
  end_ = line_.end;
  tally_.window(measure_from_, end_);
  // Every other user starts at t0, the same instant on every thread.
  if (!(pipelined() && open_loop())) {
    for (auto& v : vus_) loop_.arm_timer(*v, t0_);
  }
  if (open_loop()) {
    next_start_ = t0_;
    loop_.arm_timer(*this, next_start_);
  }
  // Bounded: every step has a deadline; past end + grace whatever still runs is abandoned.
  auto grace = std::chrono::milliseconds(p_.default_timeout_ms) + std::chrono::seconds(1);
  Watchdog dog(*this);
  loop_.arm_timer(dog, end_ + grace);
  loop_.run(
      [&] { return std::all_of(vus_.begin(), vus_.end(), [](auto& v) { return v->done(); }); },
      o_.cancel_fd);
  for (auto& v : vus_) {
    if (!v->done()) v->abort();
  }
  loop_.disarm(dog);
  loop_.disarm(*this);
  stopped_ = Clock::now();
  windows_have_room(end_);  // a stretch still full at the end counts up to it
  // What never started is missed; warm-up starts were never scheduled in the measured
  // window, so they are not missed either. (Pipelined starts are missed at once.)
  TimePoint t = oldest_;
  for (uint64_t i = 0; i < pending_; ++i, t = after(t)) {
    if (t >= measure_from_) ++tally_.part().missed_starts;
  }
}

void Worker::windows_full(TimePoint at, bool counted) {
  if (counted) ++tally_.part().window_full_starts;
  if (!full_since_) full_since_ = at;
}

void Worker::windows_have_room(TimePoint at) {
  if (!full_since_) return;
  // Only the part inside the measured window counts, as the missed starts do.
  TimePoint from = std::max(*full_since_, measure_from_), to = std::min(at, end_);
  if (to > from) tally_.part().window_full_s += std::chrono::duration<double>(to - from).count();
  full_since_.reset();
}

void Worker::on_event(uint32_t) {
  TimePoint now = Clock::now();
  while (next_start_ <= now && next_start_ < end_) {
    bool counted = next_start_ >= measure_from_;
    if (counted) ++tally_.part().scheduled;
    if (!pipelined()) {
      if (pending_++ == 0) oldest_ = next_start_;
    } else if (start_piped(next_start_)) {
      windows_have_room(next_start_);
    } else {
      if (counted) ++tally_.part().missed_starts;
      if (std::all_of(vus_.begin(), vus_.end(), [](auto& v) { return v->window_full(); }))
        windows_full(next_start_, counted);
    }
    next_start_ = after(next_start_);
  }
  dispatch();
  if (next_start_ < end_) {
    loop_.arm_timer(*this, next_start_);
  } else if (now < end_) {
    loop_.arm_timer(*this, end_);
  } else {
    for (auto& v : vus_) v->wrap_up();
  }
}

}  // namespace sockspec::load
