// A step compiled into a small state machine. The client calls advance() with kStart, then
// with the epoll bits it waited for, or 0 when the deadline passed. advance() does what it
// can without blocking and returns either "done" (result filled) or what to wait for next.
// A wake-up can be spurious (another socket reused the fd number): machines retry the
// non-blocking call and wait again on EAGAIN.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "engine/conn.h"
#include "engine/context.h"
#include "net/event_loop.h"
#include "net/socket.h"
#include "reports/model.h"
#include "scenario/model.h"
#include "scenario/template.h"

namespace sockspec::engine {

inline constexpr uint32_t kStart = 1u << 24;  // outside every EPOLL* bit
inline constexpr uint32_t kWake = 1u << 25;   // a child client finished (parallel)

struct Progress {
  bool done = false;
  int fd = -1;  // -1: wait for the deadline (or a kWake) only
  uint32_t events = 0;
  net::Deadline deadline = net::Deadline::max();
};

class Client;

// What a step may touch: its client's conns, the case's environment, the variables.
struct StepScope {
  CaseEnv& env;
  Conns& conns;
  scenario::VarValues vars;
  Client& client;
  std::string path;  // this step's path in the report ("3", "4.1")
};

class Machine {
 public:
  // `deadline` bounds the step; `bound` says where it came from, for timeout messages.
  Machine(StepScope scope, const scenario::Step& step, net::Deadline deadline, std::string bound)
      : scope_(std::move(scope)), step_(step), deadline_(deadline), bound_(std::move(bound)) {}
  virtual ~Machine() = default;
  virtual Progress advance(uint32_t ev) = 0;
  // The client is being abandoned mid-step: stop anything this step started.
  virtual void cancel(const std::string& /*why*/) {}

  reports::StepResult result;
  // Results of nested clients (parallel) to report after this step's own.
  std::vector<reports::StepResult> extra_results;

 protected:
  Progress pass(std::string message = "");
  // pass() for hot steps: the message is built only when someone reads it (CaseEnv::brief).
  template <typename Describe>
  Progress pass_described(Describe&& describe) {
    return pass(scope_.env.brief ? std::string() : describe());
  }
  Progress fail(std::string message, int err = 0);
  Progress error(std::string message, int err = 0);  // the harness could not do its part
  // A call failed: passes when `expected` names exactly its errno, fails otherwise.
  Progress failed_call(const net::NetError& e, const std::optional<std::string>& expected,
                       const std::string& detail = "");
  Progress wait(int fd, uint32_t events) const { return {false, fd, events, deadline_}; }
  Progress wait_until(net::Deadline d) const { return {false, -1, 0, d}; }
  std::string within() const { return "within " + bound_; }  // "within 1000 ms (step timeout)"
  Conn* conn(const std::string& name);                       // null after reporting an error

  StepScope scope_;
  const scenario::Step& step_;
  net::Deadline deadline_;
  std::string bound_;
};

std::unique_ptr<Machine> make_machine(StepScope scope, const scenario::Step& step,
                                      net::Deadline deadline, std::string bound);

// Per-op factories, one file per family of ops.
std::unique_ptr<Machine> make_socket_machine(StepScope& s, const scenario::Step& step,
                                             net::Deadline d, std::string& bound);
std::unique_ptr<Machine> make_io_machine(StepScope& s, const scenario::Step& step, net::Deadline d,
                                         std::string& bound);
// expect_eof, expect_reset, expect_silence (end_steps.cpp).
std::unique_ptr<Machine> make_end_machine(StepScope& s, const scenario::Step& step, net::Deadline d,
                                          std::string& bound);
// starttls, renegotiate (tls_steps.cpp).
std::unique_ptr<Machine> make_tls_machine(StepScope& s, const scenario::Step& step, net::Deadline d,
                                          std::string& bound);
std::unique_ptr<Machine> make_control_machine(StepScope& s, const scenario::Step& step,
                                              net::Deadline d, std::string& bound);

}  // namespace sockspec::engine
