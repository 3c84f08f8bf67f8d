// A single-threaded epoll loop with deadlines. Each Waiter waits for one thing at a time:
// an fd becoming ready, or its deadline, whichever comes first. The poll timeout is the
// time to the nearest deadline (epoll_pwait2, nanoseconds), so nothing waits without a bound
// and timers fire on time.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <queue>
#include <vector>

#include "net/fd.h"

namespace sockspec::net {

using Clock = std::chrono::steady_clock;
using Deadline = Clock::time_point;

class EventLoop;

class Waiter {
 public:
  // `revents` holds EPOLL* bits, or 0 when the deadline passed first.
  virtual void on_event(uint32_t revents) = 0;

 protected:
  Waiter() = default;
  ~Waiter() = default;
  Waiter(const Waiter&) = delete;
  Waiter& operator=(const Waiter&) = delete;

 private:
  friend class EventLoop;
  uint64_t token_ = 0;  // bumped on every arm/disarm, so stale timer entries are ignored
  int fd_ = -1;
  bool armed_ = false;
};

class EventLoop {
 public:
  EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  // Waiters must outlive the loop's run(): the loop holds plain pointers to them.
  void arm(Waiter& w, int fd, uint32_t events, Deadline deadline);
  void arm_timer(Waiter& w, Deadline deadline) { arm(w, -1, 0, deadline); }
  void disarm(Waiter& w);

  enum class Stop { done, idle, cancelled };
  // Dispatches events until done() is true, nothing is armed, or cancel_fd becomes readable
  // (an eventfd shared by every loop of a run: level-triggered, so all of them see it).
  Stop run(const std::function<bool()>& done, int cancel_fd = -1);

 private:
  struct TimerEntry {
    Deadline deadline;
    uint64_t token;
    Waiter* waiter;
    bool operator>(const TimerEntry& o) const { return deadline > o.deadline; }
  };
  std::optional<Clock::duration> time_to_next();
  void fire_due_timers();

  Fd epoll_;
  std::vector<Waiter*> by_fd_;
  std::priority_queue<TimerEntry, std::vector<TimerEntry>, std::greater<>> timers_;
  size_t armed_ = 0;
  int cancel_fd_ = -1;
};

}  // namespace sockspec::net
