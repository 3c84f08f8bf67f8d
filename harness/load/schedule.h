// The open loop's clock: the rate asked for at each moment, and the instant (t0) every
// generator thread starts its schedule from.
#pragma once

#include <atomic>
#include <barrier>
#include <vector>

#include "load/profile.h"
#include "net/event_loop.h"

namespace sockspec::load {

using Clock = net::Clock;
using TimePoint = Clock::time_point;

// The rate the schedule asks for at `t` seconds after the start.
struct RateCurve {
  Profile::Executor executor;
  double rate;  // constant-rate, or the ramp's start
  std::vector<Stage> stages;
  double at(double t) const {
    if (executor != Profile::Executor::ramping_rate) return rate;
    double from = rate;
    for (const auto& s : stages) {
      if (t < s.duration_s) return from + (s.rate - from) * (t / s.duration_s);
      t -= s.duration_s;
      from = s.rate;
    }
    return from;
  }
};

// The instant every thread's schedule starts from (t0), fixed when every thread is ready: with
// in-flight windows in an open loop, once their connections are open.
struct StartLine {
  double warmup_s = 0, duration_s = 0;
  TimePoint t0{}, measure_from{}, end{};
  struct Fix {
    StartLine* line;
    void operator()() noexcept {
      auto at = [](double s) {
        return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s));
      };
      line->t0 = Clock::now() + std::chrono::milliseconds(5);
      line->measure_from = line->t0 + at(line->warmup_s);
      line->end = line->measure_from + at(line->duration_s);
      line->fixed.store(true, std::memory_order_release);
    }
  };
  // Set once the times above are: a thread outside the barrier (the watcher) reads them after.
  std::atomic<bool> fixed{false};
  std::barrier<Fix> ready;
  StartLine(unsigned threads, double warmup, double duration)
      : warmup_s(warmup), duration_s(duration), ready(threads, Fix{this}) {}
};

}  // namespace sockspec::load
