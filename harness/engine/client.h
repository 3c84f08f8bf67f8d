// One sequence of steps with its own conns: a case's main script, or one `parallel` copy.
// It is the Waiter the event loop wakes; `repeat` is a frame on its stack, every other op a
// Machine it advances.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "engine/conn.h"
#include "engine/context.h"
#include "engine/machine.h"
#include "net/event_loop.h"
#include "reports/model.h"
#include "scenario/model.h"
#include "scenario/template.h"

namespace sockspec::engine {

class CaseRun;

class Client : public net::Waiter {
 public:
  Client(CaseRun& run, const scenario::Steps& steps, scenario::VarValues vars,
         std::string path_prefix, net::Deadline deadline, std::string deadline_what,
         std::function<void()> on_finish);

  void start();
  void abort(const std::string& why);  // the parent gave up on this client
  // Load: run another list of steps on the same conns (setup, iterations, teardown). Call it
  // only when the client has finished, and not from inside its on_finish.
  // `i` is the value of ${i} outside any repeat (a load iteration's number).
  void run_steps(const scenario::Steps& steps, std::function<void()> on_finish,
                 std::optional<uint64_t> i = std::nullopt);
  void drop_conns() { conns_.clear(); }
  Conn* find_conn(const std::string& name) {
    auto it = conns_.find(name);
    return it == conns_.end() ? nullptr : &it->second;
  }
  template <typename F>
  void for_each_conn(F f) {
    for (auto& [name, c] : conns_) f(c);
  }
  // When the current list's first send began and its last expect ended (zero if none).
  net::Clock::time_point first_send() const { return first_send_; }
  net::Clock::time_point last_expect() const { return last_expect_; }
  void schedule_wake();  // a child finished: resume soon, from the loop
  void on_event(uint32_t ev) override;

  bool finished() const { return finished_; }
  bool failed() const { return failed_; }
  const std::vector<reports::StepResult>& results() const { return results_; }
  uint64_t bytes_sent() const { return bytes_sent_; }
  uint64_t bytes_received() const { return bytes_received_; }
  CaseRun& run() { return run_; }
  // What `capture` bound so far: a parallel copy starts with its parent's, a virtual user keeps
  // its own across setup, iterations and teardown.
  scenario::Captures& captures() { return captures_; }
  const scenario::Captures& captures() const { return captures_; }

 private:
  struct Frame {
    const scenario::Steps* steps;
    size_t pc = 0;
    uint64_t iter = 0, times = 1;  // with `until`, times is its `max`
    const scenario::Expr* until = nullptr;
    std::string path;  // prefix of the paths of the steps in this frame
    net::Deadline deadline;
    std::string deadline_what;
    // The repeat step itself; none for the bottom frame. Boxed: every idle virtual user keeps
    // a bottom frame, and an inline result would cost each of them 400 bytes.
    std::unique_ptr<reports::StepResult> container;
    net::Clock::time_point started;
  };

  void pump(uint32_t ev);
  bool begin_next_step();  // false when the client is done
  // At the end of a repeat's iteration: true to run another, false when the frame is done
  // (its result completed, passed or failed).
  bool next_iteration();
  void complete(reports::StepResult r, std::vector<reports::StepResult> extra);
  void finish();
  scenario::VarValues step_vars() const;
  std::pair<net::Deadline, std::string> deadline_for(const scenario::Step& s) const;

  CaseRun& run_;
  scenario::VarValues base_vars_;
  scenario::Captures captures_;
  Conns conns_;
  std::vector<Frame> frames_;
  std::unique_ptr<Machine> machine_;
  const scenario::Step* step_ = nullptr;
  net::Clock::time_point step_started_;
  std::vector<reports::StepResult> results_;
  std::function<void()> on_finish_;
  uint64_t bytes_sent_ = 0, bytes_received_ = 0;
  std::optional<uint64_t> list_i_;  // ${i} outside repeats (see run_steps)
  bool finished_ = false, failed_ = false, wake_pending_ = false;
  net::Clock::time_point first_send_{}, last_expect_{};
};

}  // namespace sockspec::engine
