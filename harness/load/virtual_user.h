// One virtual user of a load run: a client with its own connections that runs the setup, then
// iterations, then the teardown (see VirtualUser). Internal to the driver.
#pragma once

#include <cstdint>
#include <memory>

#include "engine/client.h"
#include "load/pipeline.h"
#include "load/tally.h"

namespace sockspec::load {

class Worker;

// One virtual user: a client with its own connections that runs the setup, then iterations
// (back to back in a closed loop, when the schedule says in an open one; with an in-flight
// window, several at once through a Pipeline), then the teardown.
class VirtualUser : public net::Waiter {
 public:
  VirtualUser(Worker& w, engine::Client& c, unsigned index) : w_(w), client_(c), index_(index) {}
  void begin();
  void start_iteration(TimePoint intended);
  void on_event(uint32_t) override;
  bool idle() const { return state_ == State::idle; }
  bool ready() const { return state_ == State::piped || state_ == State::done; }
  // In-flight window: room for one more start now.
  bool has_room() const { return state_ == State::piped && !pipe_->full(); }
  // Ready for work, but its window is full (not: still connecting).
  bool window_full() const { return state_ == State::piped && pipe_->full(); }
  bool start_piped(TimePoint intended) { return pipe_->start(intended); }
  // The schedule is over: an idle user tears down now rather than wait for work.
  void wrap_up() {
    if (state_ == State::idle) after_iteration();
    if (state_ == State::piped) on_pipe_change();
  }
  bool done() const { return state_ == State::done; }
  void abort();

 private:
  enum class State { setup, idle, piped, running, teardown, backoff, done };
  void after_setup();
  void after_iteration();
  void on_pipe_change();
  void fill_window();
  Worker& w_;
  engine::Client& client_;
  unsigned index_;                // ${client}
  State state_ = State::backoff;  // the first event (at t0) runs the setup
  TimePoint intended_{}, started_{};
  TimePoint setup_began_{};  // the setup of this user's current connection began
  uint64_t done_iterations_ = 0;
  bool finished_flag_ = false;  // set by the client's on_finish, handled from the loop
  std::unique_ptr<Pipeline> pipe_;
};

}  // namespace sockspec::load
