// A single-threaded epoll loop with deadlines. Each Waiter waits for one thing at a time:
// an fd becoming ready, its deadline, or a post() from the loop's own thread, whichever
// comes first. The poll timeout is the time to the nearest deadline (epoll_pwait2,
// nanoseconds), so nothing waits without a bound and timers fire on time.
//
// Fds stay registered, edge-triggered, from their first wait until they are closed: a
// request/response costs its send, one wait and one receive, with no epoll_ctl in between.
// The rule that makes edges safe: wait on an fd only after the call returned EAGAIN (or when
// known_idle() says nothing came since it did). The loop remembers which events each fd has
// reported since, so a waiter is never parked on data that is already there.
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
  // `revents` holds EPOLL* bits, or 0 when the deadline passed first (or after a post()).
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
  uint32_t events_ = 0;  // what it waits for on fd_
  bool armed_ = false;
};

class EventLoop {
 public:
  EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  // Waiters must outlive the loop's run(): the loop holds plain pointers to them.
  // Arming on an fd says "the call returned EAGAIN for these events": wake me on the next.
  void arm(Waiter& w, int fd, uint32_t events, Deadline deadline);
  void arm_timer(Waiter& w, Deadline deadline) { arm(w, -1, 0, deadline); }
  // Wakes `w` (with 0) once the running callback returns, without asking the kernel.
  void post(Waiter& w);
  void disarm(Waiter& w);

  // A new socket got this fd number: forget what the loop knew of the file it had before.
  // Every fd the loop will wait on must pass through here when it is created.
  void adopt(int fd);
  // True when nothing of `events` can be pending on fd: it is registered for them, and none
  // was reported since the last arm (which followed an EAGAIN). Then waiting at once is safe
  // and saves a call that would only fail with EAGAIN.
  bool known_idle(int fd, uint32_t events) const;
  // The caller read fd until the kernel had no more (a short read, a partial batch): what was
  // reported of `events` is used up. Ignored while an error or hang-up is reported, which a
  // read that came back with data has not consumed yet.
  void drained(int fd, uint32_t events);

  // Busy polling: never sleep in the kernel; poll without a timeout until something is ready
  // or due. Costs a whole core, saves the wake-up of a sleeping thread (tens of microseconds
  // on a VM) on every reply and every timer: what sockperf does by default.
  void set_busy_poll(bool on) { busy_poll_ = on; }

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
  struct Posted {
    uint64_t token;
    Waiter* waiter;
  };
  struct FdState {
    Waiter* waiter = nullptr;
    uint32_t interest = 0;  // the events registered with epoll
    uint32_t ready = 0;     // events reported since the last arm for them
    bool registered = false;
  };
  FdState& state(int fd);
  void register_interest(int fd, FdState& s, uint32_t events);
  std::optional<Clock::duration> time_to_next();
  void fire_due_timers();
  void run_posted();
  void dispatch(int fd, uint32_t revents);

  Fd epoll_;
  std::vector<FdState> fds_;
  std::priority_queue<TimerEntry, std::vector<TimerEntry>, std::greater<>> timers_;
  std::vector<Posted> posted_, running_;
  size_t armed_ = 0;
  int cancel_fd_ = -1;
  bool busy_poll_ = false;
};

}  // namespace sockspec::net
