// One generator thread of a load run: its event loop, its virtual users, its part of the
// result (a Tally) and, in an open loop, its share of the schedule. Internal to the driver.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "engine/case_run.h"
#include "engine/client.h"
#include "engine/step_cache.h"
#include "load/client_results.h"
#include "load/driver.h"
#include "load/pipeline.h"
#include "load/schedule.h"
#include "load/tally.h"
#include "load/virtual_user.h"

namespace sockspec::load {

class Worker : public net::Waiter {
 public:
  Worker(const Profile& p, const LoadOptions& o, const RateCurve& curve, uint64_t first_user,
         unsigned vus, unsigned in_flight, double rate_share, StartLine& line,
         ProgressCounters progress)
      : p_(p),
        o_(o),
        curve_(curve),
        first_user_(first_user),
        in_flight_(in_flight),
        share_(rate_share),
        line_(line),
        // Tags go on in the engine only where no window (which tags, or numbers, itself) runs.
        run_(engine::CaseEnv{.target = o.target,
                             .seed = o.seed,
                             .default_timeout_ms = p.default_timeout_ms,
                             .server = nullptr,
                             .loop = loop_,
                             .getenv = nullptr,
                             .udp_sequence = p.udp_sequence && !p.windowed(in_flight),
                             .source_addresses = p.source_addresses,
                             .step_cache = &step_cache_,
                             .brief = true,
                             .keep_sent = any_list(p, scenario::uses_echo),
                             .impair = nullptr,
                             .timeout_scale = 1.0,
                             .tls = nullptr,  // made by the first TLS handshake
                             .on_handshake = nullptr}),
        tally_(progress) {
    run_.env().on_handshake = [this](double ms, bool ok, bool resumed) {
      tally_.handshake(net::Clock::now(), ms, ok, resumed);
    };
    loop_.set_busy_poll(o.busy_poll);
    if (p_.windowed(in_flight_)) {
      std::string why;
      pipe_steps_ = pipeline_steps(p_.iteration, p_.default_timeout_ms, why);  // checked at parse
    }
    for (unsigned i = 0; i < vus; ++i) {
      engine::Client& c = run_.spawn(p_.setup, vars(i), "", net::Deadline::max(), "", nullptr);
      vus_.push_back(std::make_unique<VirtualUser>(*this, c, i));
    }
  }

  // Opens the users' connections (open loop with windows), waits at the start line with the
  // other threads, then runs the schedule until every user is done or the run gives up.
  void run();

  // The scheduler (open loop): files every start that is due, then hands them to users. With
  // an in-flight window a start goes to a user with room, or is missed at once: it is never
  // delayed behind a full window.
  void on_event(uint32_t) override;

  void dispatch() {
    for (auto& v : vus_) {
      if (pending_ == 0) return;
      if (v->idle()) v->start_iteration(pop_oldest());
    }
  }

  // The start the schedule has after one at `t`.
  TimePoint after(TimePoint t) const {
    double since = std::chrono::duration<double>(t - t0_).count();
    double r = std::max(curve_.at(since) * share_, 1e-3);
    return t + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(1.0 / r));
  }

  TimePoint pop_oldest() {
    TimePoint t = oldest_;
    --pending_;
    oldest_ = after(oldest_);
    return t;
  }

  // Starts (by their scheduled times) that found every window full, and the first that found
  // room again: the stretches in between are the report's window_full_s.
  void windows_full(TimePoint at, bool counted);
  void windows_have_room(TimePoint at);

  // A user whose window has room, taken round robin so the connections share the load.
  bool start_piped(TimePoint intended) {
    for (size_t n = 0; n < vus_.size(); ++n) {
      VirtualUser& v = *vus_[next_vu_];
      next_vu_ = (next_vu_ + 1) % vus_.size();
      if (v.has_room()) {
        v.start_piped(intended);  // a send that fails is a failed iteration, not a missed start
        return true;
      }
    }
    return false;
  }

  // Called by a user that is ready for work: the oldest waiting start, if any. Starts due
  // inside the window may still begin up to one step timeout after its end (late, and their
  // latency says so); what is left after that is missed.
  bool take_start(TimePoint& intended) {
    if (pending_ == 0 || Clock::now() >= end_ + std::chrono::milliseconds(p_.default_timeout_ms))
      return false;
    intended = pop_oldest();
    return true;
  }

  void record(TimePoint intended, TimePoint started, engine::Client& c) {
    record_passed(tally_, intended, started, c, open_loop());
  }
  // Returns the error's kind.
  std::string record_error(TimePoint intended, engine::Client& c) {
    return record_failed(tally_, intended, c);
  }
  // When a setup that began at `began` and failed (or never finished) now counts: now, or, once
  // the run has ended, in the window it held up (a connect stuck past the end is an error of
  // the window, not dropped uncounted).
  TimePoint setup_outcome_time(TimePoint began) const {
    TimePoint now = Clock::now();
    return now < end_ ? now : std::max(began, measure_from_);
  }

  bool open_loop() const { return p_.executor != Profile::Executor::closed; }
  bool pipelined() const { return pipe_steps_.has_value(); }
  // What user `i`'s steps see.
  scenario::VarValues vars(unsigned i) const {
    scenario::VarValues v;
    v.target_host = o_.target.host;
    v.target_port = o_.target.addr.port();
    v.seed = o_.seed;
    v.client = first_user_ + i;  // unique across threads and shards
    return v;
  }
  std::unique_ptr<Pipeline> make_pipeline(unsigned user, std::function<void()> on_change) {
    return std::make_unique<Pipeline>(*pipe_steps_, p_.transport, run_.env(), vars(user),
                                      in_flight_, p_.udp_tag_offset, p_.match_by, !open_loop(),
                                      tally_, std::move(on_change));
  }
  // The conn the iteration uses, as the user's setup left it; null when it is not open.
  engine::Conn* pipeline_conn(engine::Client& c) {
    engine::Conn* conn = c.find_conn(std::get<scenario::SendOp>(pipe_steps_->send->op).conn);
    return conn && conn->fd ? conn : nullptr;
  }
  void record_setup_gap(const std::string& conn) {
    TimePoint now = Clock::now();
    if (!tally_.counts(now)) return;
    tally_.failed(
        now, {"other", "setup", "the iteration's conn '" + conn + "' is not open after the setup",
              std::nullopt});
  }
  TimePoint last_counted() const { return tally_.last_counted(); }
  bool ended() const { return Clock::now() >= end_; }
  TimePoint stopped() const { return stopped_; }
  const Profile& profile() const { return p_; }
  net::EventLoop& loop() { return loop_; }

  // This thread's part of the result, merged with the others' after the run.
  const reports::LoadResult& part() const { return tally_.part(); }

 private:
  // At its deadline: abandons whatever still runs (or only says so, with abort false).
  struct Watchdog : net::Waiter {
    explicit Watchdog(Worker& w, bool abort = true) : w_(w), abort_(abort) {}
    void on_event(uint32_t) override {
      fired = true;
      for (auto& v : w_.vus_) {
        if (abort_ && !v->done()) v->abort();
      }
    }
    Worker& w_;
    bool abort_;
    bool fired = false;
  };
  // Bounds the wait for connections before t0 (a member: the loop's timers may outlive a scope).
  Watchdog ready_limit_{*this, false};

  const Profile& p_;
  const LoadOptions& o_;
  const RateCurve& curve_;
  uint64_t first_user_;  // ${client} of this thread's first user (unique across shards)
  unsigned in_flight_;
  double share_;
  StartLine& line_;
  // Set from the start line; until then nothing has ended and nothing counts.
  TimePoint t0_ = TimePoint::max(), measure_from_ = TimePoint::max(), end_ = TimePoint::max();
  TimePoint next_start_{};
  net::EventLoop loop_;
  engine::StepCache step_cache_;  // what stays the same for the whole run (see CaseEnv)
  engine::CaseRun run_;
  Tally tally_;
  std::optional<PipelineSteps> pipe_steps_;  // set when iterations run in a window (windowed())
  std::vector<std::unique_ptr<VirtualUser>> vus_;
  // Starts due but not begun: a run of the schedule from oldest_, so memory does not grow
  // with rate × duration however far the users fall behind.
  TimePoint oldest_{};
  uint64_t pending_ = 0;
  TimePoint stopped_{};
  size_t next_vu_ = 0;
  std::optional<TimePoint> full_since_;  // every window full since this start (windows_full)
};

}  // namespace sockspec::load
