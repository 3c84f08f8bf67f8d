#include "load/virtual_user.h"

#include "load/worker.h"

namespace sockspec::load {

void VirtualUser::begin() {
  state_ = State::setup;
  setup_began_ = Clock::now();
  client_.run_steps(w_.profile().setup, [this] {
    finished_flag_ = true;
    w_.loop().post(*this);
  });
}

void VirtualUser::start_iteration(TimePoint intended) {
  state_ = State::running;
  intended_ = intended;
  started_ = Clock::now();
  client_.run_steps(
      w_.profile().iteration,
      [this] {
        finished_flag_ = true;
        w_.loop().post(*this);
      },
      done_iterations_++);
}

// Every transition happens here, from the loop, never inside the client's own callback.
void VirtualUser::on_event(uint32_t) {
  bool finished = finished_flag_;
  finished_flag_ = false;
  switch (state_) {
    case State::setup:
      if (finished) after_setup();
      break;
    case State::running:
      if (finished) after_iteration();
      break;
    case State::piped:
      on_pipe_change();
      break;
    case State::backoff:
      begin();
      break;
    case State::teardown:
      if (finished) state_ = State::done;
      break;
    case State::idle:
    case State::done:
      break;
  }
}

void VirtualUser::abort() {
  if (pipe_) pipe_->detach();
  bool in_setup = state_ == State::setup;
  client_.abort("not finished when the run ended");
  // A setup still waiting (a connect that never completes) is a failed one.
  if (in_setup) w_.record_error(w_.setup_outcome_time(setup_began_), client_);
  state_ = State::done;
}

void VirtualUser::after_setup() {
  if (client_.failed()) {
    w_.record_error(w_.setup_outcome_time(setup_began_), client_);
    client_.drop_conns();
    if (w_.ended()) {
      state_ = State::done;
      return;
    }
    state_ = State::backoff;  // the server may be down: do not spin
    w_.loop().arm_timer(*this, Clock::now() + std::chrono::milliseconds(10));
    return;
  }
  state_ = State::idle;
  if (!w_.pipelined()) {
    after_iteration();
    return;
  }
  if (!pipe_) pipe_ = w_.make_pipeline(index_, [this] { w_.loop().post(*this); });
  engine::Conn* conn = w_.pipeline_conn(client_);
  if (!conn) {
    w_.record_setup_gap(std::get<scenario::SendOp>(w_.profile().iteration[0].op).conn);
    state_ = State::teardown;
    client_.run_steps(w_.profile().teardown, [this] {
      finished_flag_ = true;
      w_.loop().post(*this);
    });
    return;
  }
  pipe_->attach(*conn);
  state_ = State::piped;
  on_pipe_change();
}

// The pipeline freed a slot or broke (told through a post, so it is never destroyed from
// inside its own callback).
void VirtualUser::on_pipe_change() {
  if (pipe_->broken()) {
    // What follows a failed reply in a stream cannot be placed: start afresh.
    pipe_->detach();
    client_.drop_conns();
    state_ = State::idle;
    begin();
    return;
  }
  uint64_t limit = w_.profile().iterations_per_vu;
  bool over = w_.ended() || (limit > 0 && done_iterations_ >= limit);
  if (!w_.open_loop()) {
    while (!over && !pipe_->full()) {
      ++done_iterations_;
      over = limit > 0 && done_iterations_ >= limit;
      if (!pipe_->start(Clock::now())) break;
    }
  }
  if (over && pipe_->empty() && pipe_->linger_over(Clock::now())) after_iteration();
}

void VirtualUser::after_iteration() {
  if (state_ == State::piped) pipe_->detach();  // the window is empty: on to the teardown
  if (state_ == State::running) {
    if (client_.failed()) {
      // A lost datagram leaves the socket fine (and its late reply still to be counted); any
      // other failed exchange leaves the connection in an unknown state: start afresh.
      if (w_.record_error(intended_, client_) != "loss") {
        client_.drop_conns();
        state_ = State::idle;
        begin();
        return;
      }
    } else {
      w_.record(intended_, started_, client_);
    }
    state_ = State::idle;
  }
  TimePoint intended;
  if (w_.open_loop() && !w_.pipelined() && w_.take_start(intended)) {
    start_iteration(intended);
    return;
  }
  uint64_t limit = w_.profile().iterations_per_vu;
  if (w_.ended() || (limit > 0 && done_iterations_ >= limit)) {
    state_ = State::teardown;
    client_.run_steps(w_.profile().teardown, [this] {
      finished_flag_ = true;
      w_.loop().post(*this);
    });
    return;
  }
  if (!w_.open_loop() && !w_.pipelined()) start_iteration(Clock::now());
}

}  // namespace sockspec::load
