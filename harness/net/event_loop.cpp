#include "net/event_loop.h"

#include <sys/epoll.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

namespace sockspec::net {

namespace {
// Posted wake-ups run without polling; after this many rounds of them in a row the loop
// polls once anyway, so sockets, deadlines and cancellation are never starved.
constexpr int kPostedRoundsPerPoll = 64;
}  // namespace

EventLoop::EventLoop() : epoll_(epoll_create1(EPOLL_CLOEXEC)) {
  if (!epoll_) throw std::runtime_error(std::string("epoll_create1: ") + std::strerror(errno));
}

EventLoop::FdState& EventLoop::state(int fd) {
  if (static_cast<size_t>(fd) >= fds_.size()) fds_.resize(static_cast<size_t>(fd) + 64);
  return fds_[static_cast<size_t>(fd)];
}

void EventLoop::adopt(int fd) {
  if (fd < 0) return;
  // A waiter still parked on the old file keeps its deadline; it just no longer hears this fd.
  state(fd) = FdState{};
}

bool EventLoop::known_idle(int fd, uint32_t events) const {
  if (fd < 0 || static_cast<size_t>(fd) >= fds_.size()) return false;
  const FdState& s = fds_[static_cast<size_t>(fd)];
  return s.registered && (s.interest & events) == events && (s.ready & events) == 0;
}

void EventLoop::drained(int fd, uint32_t events) {
  if (fd < 0 || static_cast<size_t>(fd) >= fds_.size()) return;
  FdState& s = fds_[static_cast<size_t>(fd)];
  if ((s.ready & (EPOLLERR | EPOLLHUP | EPOLLRDHUP)) == 0) s.ready &= ~events;
}

// Edge-triggered, and only for what is waited for: a UDP socket registered for EPOLLOUT would
// report every datagram the peer consumed. Changing the set is rare (a send that blocked).
void EventLoop::register_interest(int fd, FdState& s, uint32_t events) {
  epoll_event ev{};
  ev.events = events | EPOLLET;
  ev.data.fd = fd;
  int op = s.registered ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
  if (epoll_ctl(epoll_.get(), op, fd, &ev) != 0) {
    // ADD on a file already there, or MOD on one closed since: try the other.
    int other = op == EPOLL_CTL_ADD ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
    if ((errno != EEXIST && errno != ENOENT) || epoll_ctl(epoll_.get(), other, fd, &ev) != 0)
      throw std::logic_error("epoll_ctl fd " + std::to_string(fd) + ": " + std::strerror(errno));
  }
  s.registered = true;
  s.interest = events;
}

void EventLoop::arm(Waiter& w, int fd, uint32_t events, Deadline deadline) {
  disarm(w);
  w.armed_ = true;
  w.fd_ = fd;
  w.events_ = events;
  ++armed_;
  if (fd >= 0) {
    FdState& s = state(fd);
    s.waiter = &w;
    // The caller just saw EAGAIN for these, so they are used up; so is any error or hang-up,
    // which the failed call would have returned instead.
    s.ready &= ~(events | EPOLLERR | EPOLLHUP);
    // A new interest set is checked against the socket's state by the kernel (MOD and ADD
    // both report what is already ready), so nothing that came meanwhile is missed.
    if (!s.registered || s.interest != events) register_interest(fd, s, events);
  }
  if (deadline != Deadline::max()) timers_.push({deadline, w.token_, &w});
}

void EventLoop::post(Waiter& w) {
  disarm(w);
  w.armed_ = true;
  ++armed_;
  posted_.push_back({w.token_, &w});
}

void EventLoop::disarm(Waiter& w) {
  ++w.token_;
  if (!w.armed_) return;
  w.armed_ = false;
  --armed_;
  if (w.fd_ >= 0 && fds_[static_cast<size_t>(w.fd_)].waiter == &w)
    fds_[static_cast<size_t>(w.fd_)].waiter = nullptr;
  w.fd_ = -1;
}

// The time to the nearest live deadline, at nanosecond resolution: an open-loop schedule
// must not drift by a millisecond per start. nullopt: no deadline (wait for events only).
std::optional<Clock::duration> EventLoop::time_to_next() {
  while (!timers_.empty()) {
    const TimerEntry& t = timers_.top();
    if (t.token == t.waiter->token_ && t.waiter->armed_) break;
    timers_.pop();  // stale: the waiter was re-armed or disarmed since
  }
  if (timers_.empty()) return std::nullopt;
  auto left = timers_.top().deadline - Clock::now();
  return std::clamp<Clock::duration>(left, Clock::duration::zero(), std::chrono::seconds(60));
}

void EventLoop::fire_due_timers() {
  Deadline now = Clock::now();
  while (!timers_.empty() && timers_.top().deadline <= now) {
    TimerEntry t = timers_.top();
    timers_.pop();
    if (t.token != t.waiter->token_ || !t.waiter->armed_) continue;
    disarm(*t.waiter);
    t.waiter->on_event(0);
  }
}

// One round: what was posted before it started (posts made meanwhile wait for the next).
void EventLoop::run_posted() {
  running_.swap(posted_);
  for (const Posted& p : running_) {
    if (p.token != p.waiter->token_ || !p.waiter->armed_) continue;
    disarm(*p.waiter);
    p.waiter->on_event(0);
  }
  running_.clear();
}

void EventLoop::dispatch(int fd, uint32_t revents) {
  if (fd < 0 || static_cast<size_t>(fd) >= fds_.size()) return;
  FdState& s = fds_[static_cast<size_t>(fd)];
  s.ready |= revents;  // edges come once: remember them for known_idle()
  Waiter* w = s.waiter;
  if (w == nullptr || !w->armed_ || w->fd_ != fd) return;
  if ((revents & (w->events_ | EPOLLERR | EPOLLHUP)) == 0) return;  // not what it waits for
  disarm(*w);
  w->on_event(revents);
}

EventLoop::Stop EventLoop::run(const std::function<bool()>& done, int cancel_fd) {
  if (cancel_fd >= 0 && cancel_fd != cancel_fd_) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = cancel_fd;
    epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, cancel_fd, &ev);
    cancel_fd_ = cancel_fd;
  }
  epoll_event events[64];
  int posted_rounds = 0;
  while (!done()) {
    if (armed_ == 0) return Stop::idle;
    if (!posted_.empty() && posted_rounds < kPostedRoundsPerPoll) {
      ++posted_rounds;
      run_posted();
      continue;
    }
    posted_rounds = 0;
    auto wait = posted_.empty() && !busy_poll_ ? time_to_next() : Clock::duration::zero();
    timespec ts{};
    if (wait) {
      auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(*wait).count();
      ts.tv_sec = static_cast<time_t>(ns / 1'000'000'000);
      ts.tv_nsec = static_cast<long>(ns % 1'000'000'000);
    }
    int n = epoll_pwait2(epoll_.get(), events, 64, wait ? &ts : nullptr, nullptr);
    if (n < 0 && errno != EINTR) {
      throw std::runtime_error(std::string("epoll_pwait2: ") + std::strerror(errno));
    }
    for (int i = 0; i < n; ++i) {
      if (events[i].data.fd == cancel_fd_) return Stop::cancelled;
      dispatch(events[i].data.fd, events[i].events);
    }
    // Readiness first: data that arrived just before a deadline still counts.
    fire_due_timers();
  }
  return Stop::done;
}

}  // namespace sockspec::net
