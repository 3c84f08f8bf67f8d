#include "net/event_loop.h"

#include <sys/epoll.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

namespace sockspec::net {

EventLoop::EventLoop() : epoll_(epoll_create1(EPOLL_CLOEXEC)) {
  if (!epoll_) throw std::runtime_error(std::string("epoll_create1: ") + std::strerror(errno));
}

void EventLoop::arm(Waiter& w, int fd, uint32_t events, Deadline deadline) {
  disarm(w);
  w.armed_ = true;
  w.fd_ = fd;
  ++armed_;
  if (fd >= 0) {
    if (static_cast<size_t>(fd) >= by_fd_.size()) by_fd_.resize(static_cast<size_t>(fd) + 64);
    by_fd_[static_cast<size_t>(fd)] = &w;
    // One-shot: an fd reports once per arm; the next step re-arms with what it needs.
    epoll_event ev{};
    ev.events = events | EPOLLONESHOT;
    ev.data.fd = fd;
    if (epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, fd, &ev) != 0) {
      if (errno != ENOENT || epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev) != 0) {
        throw std::logic_error("epoll_ctl fd " + std::to_string(fd) + ": " + std::strerror(errno));
      }
    }
  }
  if (deadline != Deadline::max()) timers_.push({deadline, w.token_, &w});
}

void EventLoop::disarm(Waiter& w) {
  ++w.token_;
  if (!w.armed_) return;
  w.armed_ = false;
  --armed_;
  if (w.fd_ >= 0 && by_fd_[static_cast<size_t>(w.fd_)] == &w)
    by_fd_[static_cast<size_t>(w.fd_)] = nullptr;
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

EventLoop::Stop EventLoop::run(const std::function<bool()>& done, int cancel_fd) {
  if (cancel_fd >= 0 && cancel_fd != cancel_fd_) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = cancel_fd;
    epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, cancel_fd, &ev);
    cancel_fd_ = cancel_fd;
  }
  epoll_event events[64];
  while (!done()) {
    if (armed_ == 0) return Stop::idle;
    auto wait = time_to_next();
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
      int fd = events[i].data.fd;
      if (fd == cancel_fd_) return Stop::cancelled;
      Waiter* w =
          static_cast<size_t>(fd) < by_fd_.size() ? by_fd_[static_cast<size_t>(fd)] : nullptr;
      if (w == nullptr || !w->armed_ || w->fd_ != fd) continue;  // stale one-shot report
      disarm(*w);
      w->on_event(events[i].events);
    }
    // Readiness first: data that arrived just before a deadline still counts.
    fire_due_timers();
  }
  return Stop::done;
}

}  // namespace sockspec::net
