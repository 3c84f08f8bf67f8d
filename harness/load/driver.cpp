#include "load/driver.h"

#include <poll.h>
#include <sys/prctl.h>

#include <algorithm>
#include <barrier>
#include <cmath>
#include <memory>
#include <thread>
#include <unordered_map>

#include "engine/case_run.h"
#include "engine/client.h"
#include "load/client_results.h"
#include "load/pipeline.h"
#include "load/schedule.h"
#include "load/tally.h"
#include "reports/merge.h"

namespace sockspec::load {

namespace {

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
        run_(engine::CaseEnv{o.target, o.seed, p.default_timeout_ms, nullptr, loop_, nullptr,
                             p.udp_sequence && in_flight == 1 && !p.match_by, p.source_addresses, &payloads_, true,
                             any_list(p, scenario::uses_echo)}),
        tally_(progress) {
    loop_.set_busy_poll(o.busy_poll);
    if (in_flight_ > 1 || p_.match_by) {
      std::string why;
      pipe_steps_ = pipeline_steps(p_.iteration, p_.default_timeout_ms, why);  // checked at parse
    }
    for (unsigned i = 0; i < vus; ++i) {
      engine::Client& c = run_.spawn(p_.setup, vars(i), "", net::Deadline::max(), "", nullptr);
      vus_.push_back(std::make_unique<VirtualUser>(*this, c, i));
    }
  }

  void run() {
    // An open loop with in-flight windows opens its connections before t0, so the first starts
    // find them ready (a start with no room is missed, not delayed). Bounded by a step timeout.
    if (pipelined() && open_loop()) {
      for (auto& v : vus_) loop_.arm_timer(*v, Clock::now());
      Watchdog& limit = ready_limit_;
      loop_.arm_timer(limit, Clock::now() + std::chrono::milliseconds(p_.default_timeout_ms));
      loop_.run(
          [&] {
            return limit.fired ||
                   std::all_of(vus_.begin(), vus_.end(), [](auto& v) { return v->ready(); });
          },
          o_.cancel_fd);
      loop_.disarm(limit);
    }
    line_.ready.arrive_and_wait();
    t0_ = line_.t0;
    measure_from_ = line_.measure_from;
    end_ = line_.end;
    tally_.window(measure_from_, end_);
    // Every other user starts at t0, the same instant on every thread.
    if (!(pipelined() && open_loop())) {
      for (auto& v : vus_) loop_.arm_timer(*v, t0_);
    }
    if (open_loop()) {
      next_start_ = t0_;
      loop_.arm_timer(*this, next_start_);
    }
    // Bounded: every step has a deadline; past end + grace whatever still runs is abandoned.
    auto grace = std::chrono::milliseconds(p_.default_timeout_ms) + std::chrono::seconds(1);
    Watchdog dog(*this);
    loop_.arm_timer(dog, end_ + grace);
    loop_.run(
        [&] { return std::all_of(vus_.begin(), vus_.end(), [](auto& v) { return v->done(); }); },
        o_.cancel_fd);
    for (auto& v : vus_) {
      if (!v->done()) v->abort();
    }
    loop_.disarm(dog);
    loop_.disarm(*this);
    stopped_ = Clock::now();
    // What never started is missed; warm-up starts were never scheduled in the measured
    // window, so they are not missed either. (Pipelined starts are missed at once.)
    TimePoint t = oldest_;
    for (uint64_t i = 0; i < pending_; ++i, t = after(t)) {
      if (t >= measure_from_) ++tally_.part().missed_starts;
    }
  }

  // The scheduler (open loop): files every start that is due, then hands them to users. With
  // an in-flight window a start goes to a user with room, or is missed at once: it is never
  // delayed behind a full window.
  void on_event(uint32_t) override {
    TimePoint now = Clock::now();
    while (next_start_ <= now && next_start_ < end_) {
      bool counted = next_start_ >= measure_from_;
      if (counted) ++tally_.part().scheduled;
      if (!pipelined()) {
        if (pending_++ == 0) oldest_ = next_start_;
      } else if (!start_piped(next_start_) && counted) {
        ++tally_.part().missed_starts;
      }
      next_start_ = after(next_start_);
    }
    dispatch();
    if (next_start_ < end_) {
      loop_.arm_timer(*this, next_start_);
    } else if (now < end_) {
      loop_.arm_timer(*this, end_);
    } else {
      for (auto& v : vus_) v->wrap_up();
    }
  }

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
                                      in_flight_, p_.udp_tag_offset, p_.match_by, !open_loop(), tally_,
                                      std::move(on_change));
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
  std::unordered_map<const void*, std::string> payloads_;  // built once per step (see CaseEnv)
  engine::CaseRun run_;
  Tally tally_;
  std::optional<PipelineSteps> pipe_steps_;  // set when iterations overlap (in_flight > 1)
  std::vector<std::unique_ptr<VirtualUser>> vus_;
  // Starts due but not begun: a run of the schedule from oldest_, so memory does not grow
  // with rate × duration however far the users fall behind.
  TimePoint oldest_{};
  uint64_t pending_ = 0;
  TimePoint stopped_{};
  size_t next_vu_ = 0;
};

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

}  // namespace

reports::LoadResult run_load(const Profile& p, const LoadOptions& o,
                             const std::function<void(const Progress&)>& on_second) {
  double duration = o.duration_s > 0 ? o.duration_s : p.duration_s;
  double warmup = o.warmup_s >= 0 ? o.warmup_s : p.warmup_s;
  unsigned conns = o.connections ? o.connections : p.connections;
  unsigned in_flight = o.in_flight ? o.in_flight : p.in_flight;
  unsigned threads =
      o.threads ? o.threads
                : (p.threads ? p.threads : std::max(1u, std::thread::hardware_concurrency()));
  threads = std::max(1u, std::min(threads, conns));
  RateCurve curve{p.executor, o.rate > 0 ? o.rate : p.rate, p.stages};
  if (o.rate > 0 && p.executor == Profile::Executor::ramping_rate)
    curve.executor = Profile::Executor::constant_rate;

  StartLine line(threads, warmup, duration);
  TimePoint began = Clock::now();
  std::vector<std::atomic<uint64_t>> done(threads), errs(threads), p99(threads);
  std::vector<std::unique_ptr<Worker>> workers;
  uint64_t first_user = o.first_user;
  for (unsigned i = 0; i < threads; ++i) {
    unsigned vus = conns / threads + (i < conns % threads ? 1 : 0);
    workers.push_back(std::make_unique<Worker>(p, o, curve, first_user, vus, in_flight,
                                               1.0 / threads, line,
                                               ProgressCounters{done[i], errs[i], p99[i]}));
    first_user += vus;
  }
  std::vector<std::thread> pool;
  for (auto& w : workers) {
    pool.emplace_back([&w] {
      // The kernel lets a sleeping thread wake up to 50 us late by default; a schedule of
      // starts needs them on time.
      prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
      w->run();
    });
  }
  // Report progress once a second until every worker is finished.
  std::atomic<bool> all_done{false};
  std::thread watcher([&] {
    auto tick = Clock::now();
    while (!all_done) {
      tick += std::chrono::seconds(1);
      while (!all_done && Clock::now() < tick)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      if (all_done) break;
      Progress pr;
      pr.elapsed_s = std::chrono::duration<double>(Clock::now() - began).count();
      pr.total_s = warmup + duration;
      for (unsigned i = 0; i < threads; ++i) {
        pr.iterations += done[i].load(std::memory_order_relaxed);
        pr.errors += errs[i].load(std::memory_order_relaxed);
        pr.last_p99_ns = std::max(pr.last_p99_ns, p99[i].load(std::memory_order_relaxed));
      }
      if (on_second) on_second(pr);
    }
  });
  for (auto& t : pool) t.join();
  all_done = true;
  watcher.join();

  // The wall clock of the series' second 0: shards' series are merged by it.
  double origin_unix_ms =
      std::chrono::duration<double, std::milli>(
          std::chrono::system_clock::now().time_since_epoch() + (line.measure_from - Clock::now()))
          .count();
  reports::LoadResult r;
  for (auto& w : workers) reports::merge_load(r, w->part());
  r.series_origin_unix_ms = origin_unix_ms;
  r.profile = p.name;
  r.file = p.file;
  r.executor = to_string(p.executor);
  r.transport = scenario::to_string(p.transport);
  r.duration_s = duration;
  r.warmup_s = warmup;
  r.threads = threads;
  r.connections = conns;
  r.in_flight = in_flight;
  r.target_rate = p.executor == Profile::Executor::closed ? 0 : curve.at(0);
  if (p.executor == Profile::Executor::ramping_rate && !p.stages.empty()) {
    r.target_rate = 0;
    for (const auto& s : p.stages) r.target_rate = std::max(r.target_rate, s.rate);
  }
  // An iteration-limited run may end long before its duration: its rate is over the time
  // it actually took.
  double elapsed = duration;
  pollfd cancel{o.cancel_fd, POLLIN, 0};
  if (o.cancel_fd >= 0 && poll(&cancel, 1, 0) == 1) {  // interrupted: over the time it ran
    TimePoint stop = line.end;
    for (auto& w : workers) stop = std::min(stop, w->stopped());
    elapsed =
        std::clamp(std::chrono::duration<double>(stop - line.measure_from).count(), 0.0, duration);
    r.duration_s = elapsed;
  } else if (p.iterations_per_vu > 0) {
    TimePoint last = line.measure_from;
    for (auto& w : workers) last = std::max(last, w->last_counted());
    elapsed =
        std::clamp(std::chrono::duration<double>(last - line.measure_from).count(), 1e-9, duration);
  }
  r.achieved_rate = elapsed > 0 ? static_cast<double>(r.iterations) / elapsed : 0;
  r.rate_kept = p.executor == Profile::Executor::closed || r.missed_starts == 0;
  for (const auto& t : p.thresholds) r.thresholds.push_back(reports::evaluate(t, r));
  return r;
}

}  // namespace sockspec::load
