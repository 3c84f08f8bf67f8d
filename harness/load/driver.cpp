#include "load/driver.h"

#include <poll.h>
#include <sys/prctl.h>

#include <algorithm>
#include <cmath>
#include <deque>
#include <memory>
#include <thread>
#include <unordered_map>

#include "engine/case_run.h"
#include "engine/client.h"
#include "reports/merge.h"

namespace sockspec::load {

namespace {

using Clock = net::Clock;
using TimePoint = Clock::time_point;
constexpr size_t kKeptErrors = 5;

uint64_t ns_between(TimePoint a, TimePoint b) {
  return b > a ? static_cast<uint64_t>(
                     std::chrono::duration_cast<std::chrono::nanoseconds>(b - a).count())
               : 0;
}

std::string error_kind(const reports::StepResult& r) {
  if (r.message.rfind("datagram lost", 0) == 0) return "loss";
  if (r.errno_name == "ETIMEDOUT") return r.op == "connect" ? "connect" : "timeout";
  if (r.errno_name == "ECONNRESET" || r.errno_name == "EPIPE") return "reset";
  if (r.errno_name == "ECONNREFUSED") return "refused";
  if (r.op == "connect") return "connect";
  if (r.op == "expect" || r.op == "expect_eof" || r.op == "expect_silence") return "mismatch";
  return "other";
}

// The rate the schedule asks for at `t` seconds after the start.
struct RateCurve {
  Profile::Executor executor;
  double rate;  // constant-rate, or the ramp's start
  std::vector<Stage> stages;
  double at(double t) const {
    if (executor != Profile::Executor::ramping_rate) return rate;
    double from = rate;
    for (const auto& s : stages) {
      if (t < s.duration_s) return from + (s.rate - from) * (t / s.duration_s);
      t -= s.duration_s;
      from = s.rate;
    }
    return from;
  }
};

class Worker;

// One virtual user: a client with its own connections that runs the setup, then iterations
// (back to back in a closed loop, when the schedule says in an open one), then the teardown.
class VirtualUser : public net::Waiter {
 public:
  VirtualUser(Worker& w, engine::Client& c) : w_(w), client_(c) {}
  void begin();
  void start_iteration(TimePoint intended);
  void on_event(uint32_t) override;
  bool idle() const { return state_ == State::idle; }
  // The schedule is over: an idle user tears down now rather than wait for work.
  void wrap_up() {
    if (state_ == State::idle) after_iteration();
  }
  bool done() const { return state_ == State::done; }
  void abort() {
    client_.abort("the run ended");
    state_ = State::done;
  }

 private:
  enum class State { setup, idle, running, teardown, backoff, done };
  void after_setup();
  void after_iteration();
  Worker& w_;
  engine::Client& client_;
  State state_ = State::backoff;  // the first event (at t0) runs the setup
  TimePoint intended_{}, started_{};
  uint64_t done_iterations_ = 0;
  bool finished_flag_ = false;  // set by the client's on_finish, handled from the loop
};

class Worker : public net::Waiter {
 public:
  Worker(const Profile& p, const LoadOptions& o, const RateCurve& curve, uint64_t first_user,
         unsigned vus, double rate_share, TimePoint t0, TimePoint measure_from, TimePoint end,
         std::atomic<uint64_t>& done, std::atomic<uint64_t>& errs, std::atomic<uint64_t>& p99)
      : p_(p),
        o_(o),
        curve_(curve),
        share_(rate_share),
        t0_(t0),
        measure_from_(measure_from),
        end_(end),
        run_(engine::CaseEnv{o.target, o.seed, p.default_timeout_ms, nullptr, loop_, nullptr,
                             p.udp_sequence, p.source_addresses, &payloads_, true,
                             any_list(p, scenario::uses_echo)}),
        progress_done_(done),
        progress_errors_(errs),
        progress_p99_(p99) {
    for (unsigned i = 0; i < vus; ++i) {
      scenario::VarValues vars;
      vars.target_host = o.target.host;
      vars.target_port = o.target.addr.port();
      vars.seed = o.seed;
      vars.client = first_user + i;  // unique across threads and shards
      engine::Client& c = run_.spawn(p_.setup, vars, "", net::Deadline::max(), "", nullptr);
      vus_.push_back(std::make_unique<VirtualUser>(*this, c));
    }
  }

  void run() {
    // Every user starts at t0, the same instant on every thread; nothing runs before it.
    for (auto& v : vus_) loop_.arm_timer(*v, t0_);
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
    part_.missed_starts += backlog_.size();
  }

  // The scheduler (open loop): files every start that is due, then hands them to idle users.
  void on_event(uint32_t) override {
    TimePoint now = Clock::now();
    while (next_start_ <= now && next_start_ < end_) {
      if (next_start_ >= measure_from_) ++part_.scheduled;
      backlog_.push_back(next_start_);
      double t = std::chrono::duration<double>(next_start_ - t0_).count();
      double r = std::max(curve_.at(t) * share_, 1e-3);
      next_start_ +=
          std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(1.0 / r));
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
      if (backlog_.empty()) return;
      if (v->idle()) {
        TimePoint intended = backlog_.front();
        backlog_.pop_front();
        v->start_iteration(intended);
      }
    }
  }

  // Called by a user that is ready for work: the oldest waiting start, if any. Starts due
  // inside the window may still begin up to one step timeout after its end (late, and their
  // latency says so); what is left after that is missed.
  bool take_start(TimePoint& intended) {
    if (backlog_.empty() || Clock::now() >= end_ + std::chrono::milliseconds(p_.default_timeout_ms))
      return false;
    intended = backlog_.front();
    backlog_.pop_front();
    return true;
  }

  // Moves the UDP sequence counters of the user's sockets into the totals (or drops them,
  // outside the measured window).
  void collect_udp(engine::Client& c, bool counted) {
    c.for_each_conn([&](engine::Conn& conn) {
      if (counted) {
        part_.datagrams_sent += conn.datagrams_sent;
        part_.bytes_sent += conn.bytes_sent;
        part_.bytes_received += conn.bytes_received;
      }
      conn.datagrams_sent = conn.bytes_sent = conn.bytes_received = 0;
      if (!conn.sequence) return;
      auto& s = *conn.sequence;
      if (counted) {
        part_.udp_sent += s.sent;
        part_.udp_lost += s.lost;
        part_.udp_duplicates += s.duplicates;
        part_.udp_late += s.late;
        part_.udp_reordered += s.reordered;
      }
      s.sent = s.lost = s.duplicates = s.late = s.reordered = 0;
    });
  }

  void record(TimePoint intended, TimePoint started, engine::Client& c) {
    if (intended < measure_from_ || intended >= end_) {  // warm-up, or after the end
      collect_udp(c, false);
      return;
    }
    TimePoint first = c.first_send() == TimePoint{} ? started : c.first_send();
    TimePoint last = c.last_expect() == TimePoint{} ? Clock::now() : c.last_expect();
    uint64_t latency = ns_between(open_loop() ? intended : first, last);
    part_.latency.record(latency);
    part_.service.record(ns_between(first, last));
    part_.max_lag_ms =
        std::max(part_.max_lag_ms, static_cast<double>(ns_between(intended, started)) / 1e6);
    for (const auto& r : c.results()) {
      if (r.op == "connect") part_.connect.record(static_cast<uint64_t>(r.elapsed_ms * 1e6));
    }
    collect_udp(c, true);
    last_counted_ = std::max(last_counted_, last);
    ++part_.iterations;
    reports::Interval& sec = second(intended);
    ++sec.iterations;
    sec.latency.record(latency);
    progress_done_.fetch_add(1, std::memory_order_relaxed);
  }

  // Returns the error's kind.
  std::string record_error(TimePoint intended, engine::Client& c) {
    std::string kind = "other";
    for (const auto& r : c.results()) {
      if (r.verdict != reports::Verdict::pass) {
        kind = error_kind(r);
        break;
      }
    }
    collect_udp(c, intended >= measure_from_ && intended < end_);
    if (intended < measure_from_ || intended >= end_) return kind;
    ++part_.errors;
    ++second(intended).errors;
    progress_errors_.fetch_add(1, std::memory_order_relaxed);
    ++part_.errors_by_kind[kind];
    for (const auto& r : c.results()) {
      if (r.verdict == reports::Verdict::pass) continue;
      if (part_.first_errors.size() < kKeptErrors)
        part_.first_errors.push_back(
            {kind, r.op + " (step " + r.path + ")", r.message, r.mismatch});
      break;
    }
    return kind;
  }

  bool open_loop() const { return p_.executor != Profile::Executor::closed; }
  // When this thread's last counted iteration ended (the start of the window if none did).
  TimePoint last_counted() const { return std::max(last_counted_, measure_from_); }
  bool ended() const { return Clock::now() >= end_; }
  const Profile& profile() const { return p_; }
  net::EventLoop& loop() { return loop_; }

  // This thread's part of the result, merged with the others' after the run.
  const reports::LoadResult& part() const { return part_; }

 private:
  struct Watchdog : net::Waiter {
    explicit Watchdog(Worker& w) : w_(w) {}
    void on_event(uint32_t) override {
      for (auto& v : w_.vus_) {
        if (!v->done()) v->abort();
      }
    }
    Worker& w_;
  };

  // The per-second entry of the series for a start at `t`.
  reports::Interval& second(TimePoint t) {
    auto idx = static_cast<size_t>(
        std::chrono::duration_cast<std::chrono::seconds>(t - measure_from_).count());
    auto& series = part_.series;
    if (idx >= series.size()) {
      if (!series.empty())
        progress_p99_.store(series.back().latency.percentile(99), std::memory_order_relaxed);
      for (size_t i = series.size(); i <= idx; ++i)
        series.emplace_back().start_s = static_cast<double>(i);
    }
    return series[idx];
  }

  const Profile& p_;
  const LoadOptions& o_;
  const RateCurve& curve_;
  double share_;
  TimePoint t0_, measure_from_, end_, next_start_{}, last_counted_{};
  net::EventLoop loop_;
  std::unordered_map<const void*, std::string> payloads_;  // built once per step (see CaseEnv)
  engine::CaseRun run_;
  std::vector<std::unique_ptr<VirtualUser>> vus_;
  std::deque<TimePoint> backlog_;
  reports::LoadResult part_;
  std::atomic<uint64_t>& progress_done_;
  std::atomic<uint64_t>& progress_errors_;
  std::atomic<uint64_t>& progress_p99_;
};

void VirtualUser::begin() {
  state_ = State::setup;
  client_.run_steps(w_.profile().setup, [this] {
    finished_flag_ = true;
    w_.loop().post(*this);
  });
}

void VirtualUser::start_iteration(TimePoint intended) {
  state_ = State::running;
  ++done_iterations_;
  intended_ = intended;
  started_ = Clock::now();
  client_.run_steps(w_.profile().iteration, [this] {
    finished_flag_ = true;
    w_.loop().post(*this);
  });
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

void VirtualUser::after_setup() {
  if (client_.failed()) {
    w_.record_error(Clock::now(), client_);
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
  after_iteration();
}

void VirtualUser::after_iteration() {
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
  if (w_.open_loop() && w_.take_start(intended)) {
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
  if (!w_.open_loop()) start_iteration(Clock::now());
}

}  // namespace

reports::LoadResult run_load(const Profile& p, const LoadOptions& o,
                             const std::function<void(const Progress&)>& on_second) {
  double duration = o.duration_s > 0 ? o.duration_s : p.duration_s;
  double warmup = o.warmup_s >= 0 ? o.warmup_s : p.warmup_s;
  unsigned conns = o.connections ? o.connections : p.connections;
  unsigned threads =
      o.threads ? o.threads
                : (p.threads ? p.threads : std::max(1u, std::thread::hardware_concurrency()));
  threads = std::max(1u, std::min(threads, conns));
  RateCurve curve{p.executor, o.rate > 0 ? o.rate : p.rate, p.stages};
  if (o.rate > 0 && p.executor == Profile::Executor::ramping_rate)
    curve.executor = Profile::Executor::constant_rate;

  TimePoint t0 =
      Clock::now() + std::chrono::milliseconds(20);  // every thread starts on the same clock
  TimePoint measure_from =
      t0 + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(warmup));
  TimePoint end = measure_from + std::chrono::duration_cast<Clock::duration>(
                                     std::chrono::duration<double>(duration));
  std::vector<std::atomic<uint64_t>> done(threads), errs(threads), p99(threads);
  std::vector<std::unique_ptr<Worker>> workers;
  uint64_t first_user = o.first_user;
  for (unsigned i = 0; i < threads; ++i) {
    unsigned vus = conns / threads + (i < conns % threads ? 1 : 0);
    workers.push_back(std::make_unique<Worker>(p, o, curve, first_user, vus, 1.0 / threads, t0,
                                               measure_from, end, done[i], errs[i], p99[i]));
    first_user += vus;
  }
  // The wall clock of the series' second 0: shards' series are merged by it.
  double origin_unix_ms =
      std::chrono::duration<double, std::milli>(
          std::chrono::system_clock::now().time_since_epoch() + (measure_from - Clock::now()))
          .count();
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
      pr.elapsed_s = std::chrono::duration<double>(Clock::now() - t0).count();
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
  r.target_rate = p.executor == Profile::Executor::closed ? 0 : curve.at(0);
  if (p.executor == Profile::Executor::ramping_rate && !p.stages.empty()) {
    r.target_rate = 0;
    for (const auto& s : p.stages) r.target_rate = std::max(r.target_rate, s.rate);
  }
  // An iteration-limited run may end long before its duration: its rate is over the time
  // it actually took.
  double elapsed = duration;
  if (p.iterations_per_vu > 0) {
    TimePoint last = measure_from;
    for (auto& w : workers) last = std::max(last, w->last_counted());
    elapsed =
        std::clamp(std::chrono::duration<double>(last - measure_from).count(), 1e-9, duration);
  }
  r.achieved_rate = static_cast<double>(r.iterations) / elapsed;
  r.rate_kept = p.executor == Profile::Executor::closed || r.missed_starts == 0;
  for (const auto& t : p.thresholds) r.thresholds.push_back(reports::evaluate(t, r));
  return r;
}

}  // namespace sockspec::load
