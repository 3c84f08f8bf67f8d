// sleep, parallel, server, impair, set.
#include <csignal>
#include <stdexcept>

#include "engine/case_run.h"
#include "engine/client.h"
#include "engine/machine.h"

namespace sockspec::engine {

namespace {

using namespace std::chrono_literals;

class SleepMachine : public Machine {
 public:
  using Machine::Machine;
  Progress advance(uint32_t ev) override {
    auto ms = std::get<scenario::SleepOp>(step_.op).ms;
    if (ev == kStart) {
      auto until = net::Clock::now() + std::chrono::milliseconds(ms);
      if (until > deadline_)
        return fail("sleeping " + std::to_string(ms) + " ms would pass " + bound_);
      return wait_until(until);
    }
    return pass();
  }
};

// Runs N copies of its steps as separate clients in the same loop; passes when all pass.
class ParallelMachine : public Machine {
 public:
  using Machine::Machine;
  Progress advance(uint32_t ev) override {
    const auto& op = std::get<scenario::ParallelOp>(step_.op);
    if (ev == kStart) {
      CaseRun& run = scope_.client.run();
      std::string prefix = scope_.path + ".";
      for (uint64_t k = 0; k < op.clients; ++k) {
        scenario::VarValues v = scope_.vars;
        v.client = k;
        v.conn_local_port = nullptr;  // each client has its own conns; its Client supplies them
        Client& child = run.spawn(op.steps, v, prefix, deadline_, bound_, [this] {
          ++finished_;
          scope_.client.schedule_wake();
        });
        children_.push_back(&child);
      }
      for (Client* c : children_) c->start();
    }
    if (ev == 0) {
      for (Client* c : children_) c->abort("stopped: the parallel step reached " + bound_);
    }
    if (ev != 0 && finished_ < children_.size()) return wait_until(deadline_);
    return conclude();
  }

  void cancel(const std::string& why) override {
    for (Client* c : children_) c->abort(why);
  }

 private:
  Progress conclude() {
    size_t failed = 0;
    const Client* first = nullptr;
    uint64_t k = 0, first_k = 0;
    for (const Client* c : children_) {
      result.bytes_sent += c->bytes_sent();
      result.bytes_received += c->bytes_received();
      if (c->failed()) {
        if (!first) {
          first = c;
          first_k = k;
        }
        ++failed;
      }
      ++k;
    }
    if (failed == 0) return pass(std::to_string(children_.size()) + " clients passed");
    for (const auto& r : first->results()) {
      if (r.verdict == reports::Verdict::pass) continue;
      reports::StepResult copy = r;
      copy.message = "client " + std::to_string(first_k) + ": " + copy.message;
      extra_results.push_back(std::move(copy));
    }
    std::string first_msg = extra_results.empty() ? "" : ": " + extra_results.front().message;
    bool any_error = false;
    for (const auto& r : extra_results)
      any_error = any_error || r.verdict == reports::Verdict::error;
    std::string msg = std::to_string(failed) + " of " + std::to_string(children_.size()) +
                      " clients failed" + first_msg;
    return any_error ? error(msg) : fail(msg);
  }

  std::vector<Client*> children_;
  size_t finished_ = 0;
};

// start / stop / restart / kill of the managed server, polled on a short timer so the
// case's other clients keep running meanwhile.
class ServerMachine : public Machine {
 public:
  using Machine::Machine;
  Progress advance(uint32_t ev) override {
    const auto& op = std::get<scenario::ServerOp>(step_.op);
    ServerControl* s = scope_.env.server;
    if (s == nullptr)
      return error("no managed server (use --target builtin:SERVICE or --server-cmd)");
    auto now = net::Clock::now();
    if (ev == kStart) {
      switch (op.action) {
        case scenario::ServerAction::start:
          return begin_start(*s, now);
        case scenario::ServerAction::stop:
        case scenario::ServerAction::restart:
          return begin_stop(*s, SIGTERM, now);
        case scenario::ServerAction::kill:
          return begin_stop(*s, SIGKILL, now);
      }
    }
    if (phase_ == Phase::stopping) {
      if (s->reap()) {
        if (op.action == scenario::ServerAction::restart) return begin_start(*s, now);
        return pass(killed_ ? "server killed" : "server stopped");
      }
      if (now >= phase_deadline_) {
        if (killed_) return error("the server did not exit after SIGKILL");
        s->signal(SIGKILL);  // it ignored SIGTERM for too long
        killed_ = true;
        phase_deadline_ = now + 2s;
      }
      return tick(now);
    }
    std::string why;
    switch (s->probe(why)) {
      case ServerControl::Probe::ready:
        return pass(op.action == scenario::ServerAction::restart ? "server restarted and accepting"
                                                                 : "server started and accepting");
      case ServerControl::Probe::exited:
        return fail("the server exited while starting: " + why);
      case ServerControl::Probe::not_yet:
        break;
    }
    if (now >= phase_deadline_) {
      return fail("the server was not accepting within " + std::to_string(ready_ms()) + " ms" +
                  (why.empty() ? "" : ": " + why));
    }
    return tick(now);
  }

 private:
  enum class Phase { stopping, starting };

  // 15 s unless the step says: a server that comes back is seen at once (the wait polls every
  // 10 ms), and a sanitized server starting beside CPU hogs once took more than 5 s.
  uint64_t ready_ms() const {
    return std::get<scenario::ServerOp>(step_.op).ready_timeout_ms.value_or(15000);
  }
  Progress tick(net::Clock::time_point now) const { return wait_until(now + 10ms); }

  Progress begin_stop(ServerControl& s, int sig, net::Clock::time_point now) {
    phase_ = Phase::stopping;
    if (!s.running()) {
      if (std::get<scenario::ServerOp>(step_.op).action == scenario::ServerAction::restart) {
        return begin_start(s, now);
      }
      return pass("the server was not running");
    }
    s.signal(sig);
    killed_ = sig == SIGKILL;
    phase_deadline_ = now + 5s;
    return tick(now);
  }

  Progress begin_start(ServerControl& s, net::Clock::time_point now) {
    phase_ = Phase::starting;
    if (s.running()) return pass("the server was already running");
    std::string err = s.start();
    if (!err.empty()) return error("server start: " + err);
    phase_deadline_ = now + std::chrono::milliseconds(ready_ms());
    return tick(now);
  }

  Phase phase_ = Phase::starting;
  bool killed_ = false;
  net::Clock::time_point phase_deadline_;
};

// New network conditions on the case's impairment relay; they hold from the next packet on.
class ImpairMachine : public Machine {
 public:
  using Machine::Machine;
  Progress advance(uint32_t) override {
    const auto& op = std::get<scenario::ImpairOp>(step_.op);
    if (scope_.env.impair == nullptr)
      return error(
          "no impairment relay for this case (the runner starts one for cases with impair steps)");
    scope_.env.impair->set(op.spec);
    return pass("network now: " + op.spec.text);
  }
};

// Binds integer variables; every value is computed from the variables before the step.
class SetMachine : public Machine {
 public:
  using Machine::Machine;
  Progress advance(uint32_t) override {
    const auto& op = std::get<scenario::SetOp>(step_.op);
    std::vector<int64_t> values;
    for (const auto& [name, e] : op.values) {
      auto v = scenario::eval(e, scope_.vars);
      if (!v.error.empty()) return error("set " + name + ": " + v.error);
      values.push_back(v.value);
    }
    std::string said;
    for (size_t k = 0; k < values.size(); ++k) {
      scope_.client.captures().set_integer(op.values[k].first, values[k]);
      said += (k ? ", " : "") + op.values[k].first + "=" + std::to_string(values[k]);
    }
    return pass(said);
  }
};

}  // namespace

std::unique_ptr<Machine> make_control_machine(StepScope& s, const scenario::Step& step,
                                              net::Deadline d, std::string& bound) {
  using namespace scenario;
  if (std::holds_alternative<SleepOp>(step.op))
    return std::make_unique<SleepMachine>(s, step, d, bound);
  if (std::holds_alternative<ParallelOp>(step.op))
    return std::make_unique<ParallelMachine>(s, step, d, bound);
  if (std::holds_alternative<ServerOp>(step.op))
    return std::make_unique<ServerMachine>(s, step, d, bound);
  if (std::holds_alternative<SetOp>(step.op))
    return std::make_unique<SetMachine>(s, step, d, bound);
  if (std::holds_alternative<ImpairOp>(step.op))
    return std::make_unique<ImpairMachine>(s, step, d, bound);
  throw std::logic_error(std::string("no machine for op ") + op_name(step.op));
}

}  // namespace sockspec::engine
