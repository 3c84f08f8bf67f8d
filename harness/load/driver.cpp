#include "load/driver.h"

#include <poll.h>
#include <sys/prctl.h>

#include <algorithm>
#include <barrier>
#include <cmath>
#include <memory>
#include <optional>
#include <thread>

#include "load/pipeline_steps.h"
#include "load/window.h"
#include "load/worker.h"
#include "reports/merge.h"

namespace sockspec::load {

namespace {

// What this run is: the profile with the command line's overrides applied.
struct Shape {
  double duration = 0, warmup = 0;
  unsigned conns = 0, in_flight = 0, threads = 0;
  RateCurve curve;
  std::string in_flight_source;  // who chose the window: profile, --in-flight, auto
  WindowPlan window;             // open loop: what its rate needs, and what auto gave
  unsigned window_timeout_ms = 0;
};

double peak_rate(const RateCurve& c) {
  double r = c.rate;
  if (c.executor == Profile::Executor::ramping_rate)
    for (const auto& st : c.stages) r = std::max(r, st.rate);
  return r;
}

// The window each connection gets, and why: the command line's number, else `auto` (asked
// for, or the profile's default) sized for the rate, else the profile's number.
void size_window(const Profile& p, const LoadOptions& o, Shape& s) {
  bool automatic = o.in_flight == 0 && (o.in_flight_auto || p.in_flight_auto);
  if (!p.windowed(automatic ? 2 : s.in_flight)) return;
  std::string why;
  auto steps = pipeline_steps(p.iteration, p.default_timeout_ms, why);
  s.window_timeout_ms = static_cast<unsigned>(steps ? steps->timeout_ms : p.default_timeout_ms);
  s.in_flight_source = o.in_flight ? "--in-flight" : automatic ? "auto" : "profile";
  if (p.executor == Profile::Executor::closed) return;
  s.window = auto_window(peak_rate(s.curve), s.conns, s.window_timeout_ms);
  if (automatic) s.in_flight = s.window.size;
}

Shape shape_of(const Profile& p, const LoadOptions& o) {
  Shape s{o.duration_s > 0 ? o.duration_s : p.duration_s,
          o.warmup_s >= 0 ? o.warmup_s : p.warmup_s,
          o.connections ? o.connections : p.connections,
          o.in_flight ? o.in_flight : p.in_flight,
          0,
          RateCurve{p.executor, o.rate > 0 ? o.rate : p.rate, p.stages},
          "",
          {},
          0};
  unsigned threads =
      o.threads ? o.threads
                : (p.threads ? p.threads : std::max(1u, std::thread::hardware_concurrency()));
  s.threads = std::max(1u, std::min(threads, s.conns));
  if (o.rate > 0 && p.executor == Profile::Executor::ramping_rate)
    s.curve.executor = Profile::Executor::constant_rate;
  size_window(p, o, s);
  return s;
}

// Each thread's progress counters, read once a second by the watcher.
struct ProgressBoard {
  ProgressBoard(unsigned threads, bool watched) : done(threads), errors(threads), p99(threads) {
    if (watched) live = std::make_unique<LiveBoard>(threads);
  }
  ProgressCounters of(unsigned i) {
    return ProgressCounters{done[i], errors[i], p99[i], live ? live->feed(i) : nullptr};
  }
  Progress read(TimePoint began, double total_s) const {
    Progress pr;
    pr.elapsed_s = std::chrono::duration<double>(Clock::now() - began).count();
    pr.total_s = total_s;
    for (size_t i = 0; i < done.size(); ++i) {
      pr.iterations += done[i].load(std::memory_order_relaxed);
      pr.errors += errors[i].load(std::memory_order_relaxed);
      pr.last_p99_ns = std::max(pr.last_p99_ns, p99[i].load(std::memory_order_relaxed));
    }
    return pr;
  }
  std::vector<std::atomic<uint64_t>> done, errors, p99;
  std::unique_ptr<LiveBoard> live;  // watched runs only
};

// Runs every worker on its own thread and calls `on_tick` ten times a second until all are
// done (with true once a second).
void run_workers(std::vector<std::unique_ptr<Worker>>& workers,
                 const std::function<void(bool)>& on_tick) {
  std::vector<std::thread> pool;
  for (auto& w : workers) {
    pool.emplace_back([&w] {
      // The kernel lets a sleeping thread wake up to 50 us late by default; a schedule of
      // starts needs them on time.
      prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
      w->run();
    });
  }
  std::atomic<bool> all_done{false};
  std::thread watcher([&] {
    auto tick = Clock::now();
    for (unsigned n = 1; !all_done; ++n) {
      tick += std::chrono::milliseconds(100);
      while (!all_done && Clock::now() < tick)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      if (all_done) break;
      on_tick(n % 10 == 0);
    }
  });
  for (auto& t : pool) t.join();
  all_done = true;
  watcher.join();
}

// The seconds the rate is over: the duration, or less when the run was interrupted (the time
// it ran) or limited by iterations (the time they took). Sets r.duration_s when interrupted.
double measured_seconds(const Profile& p, const LoadOptions& o, const StartLine& line,
                        const std::vector<std::unique_ptr<Worker>>& workers, double duration,
                        reports::LoadResult& r) {
  pollfd cancel{o.cancel_fd, POLLIN, 0};
  if (o.cancel_fd >= 0 && poll(&cancel, 1, 0) == 1) {
    TimePoint stop = line.end;
    for (auto& w : workers) stop = std::min(stop, w->stopped());
    r.duration_s =
        std::clamp(std::chrono::duration<double>(stop - line.measure_from).count(), 0.0, duration);
    return r.duration_s;
  }
  if (p.iterations_per_vu > 0) {
    TimePoint last = line.measure_from;
    for (auto& w : workers) last = std::max(last, w->last_counted());
    return std::clamp(std::chrono::duration<double>(last - line.measure_from).count(), 1e-9,
                      duration);
  }
  return duration;
}

// What the run was asked to do, on the threads' merged parts (or the live figures).
void describe(reports::LoadResult& r, const Profile& p, const Shape& s, const StartLine& line) {
  // The wall clock of the series' second 0: shards' series are merged by it.
  r.series_origin_unix_ms =
      std::chrono::duration<double, std::milli>(
          std::chrono::system_clock::now().time_since_epoch() + (line.measure_from - Clock::now()))
          .count();
  r.profile = p.name;
  r.file = p.file;
  r.executor = to_string(p.executor);
  r.transport = scenario::to_string(p.transport);
  r.duration_s = s.duration;
  r.warmup_s = s.warmup;
  r.threads = s.threads;
  r.connections = s.conns;
  r.in_flight = s.in_flight;
  r.in_flight_source = s.in_flight_source;
  r.in_flight_needed = s.window.needed;
  r.window_timeout_ms = s.window_timeout_ms;
  if (s.in_flight_source == "auto") r.window_memory_limit = kWindowMemoryLimit;
  r.target_rate = p.executor == Profile::Executor::closed ? 0 : s.curve.at(0);
  if (p.executor == Profile::Executor::ramping_rate && !p.stages.empty()) {
    r.target_rate = 0;
    for (const auto& st : p.stages) r.target_rate = std::max(r.target_rate, st.rate);
  }
}

// The threads' parts merged, with what the run was asked to do.
reports::LoadResult assemble(const Profile& p, const Shape& s, const StartLine& line,
                             const std::vector<std::unique_ptr<Worker>>& workers) {
  reports::LoadResult r;
  for (auto& w : workers) reports::merge_load(r, w->part());
  describe(r, p, s, line);
  return r;
}

}  // namespace

reports::LoadResult run_load(const Profile& p, const LoadOptions& o,
                             const std::function<void(const Progress&)>& on_second) {
  Shape s = shape_of(p, o);
  StartLine line(s.threads, s.warmup, s.duration);
  ProgressBoard board(s.threads, o.live != nullptr);
  std::vector<std::unique_ptr<Worker>> workers;
  uint64_t first_user = o.first_user;
  for (unsigned i = 0; i < s.threads; ++i) {
    unsigned vus = s.conns / s.threads + (i < s.conns % s.threads ? 1 : 0);
    workers.push_back(std::make_unique<Worker>(p, o, s.curve, first_user, vus, s.in_flight,
                                               1.0 / s.threads, line, board.of(i)));
    first_user += vus;
  }
  TimePoint began = Clock::now();
  std::optional<reports::LoadResult> shape;  // the run's settings, once its start is fixed
  run_workers(workers, [&](bool whole_second) {
    if (on_second && whole_second) on_second(board.read(began, s.warmup + s.duration));
    if (!o.live || !line.fixed.load(std::memory_order_acquire)) return;
    if (!shape) describe(shape.emplace(), p, s, line);
    double measured = std::chrono::duration<double>(Clock::now() - line.measure_from).count();
    o.live->update(board.live->collect(*shape, p.thresholds, std::clamp(measured, 0.0, s.duration)),
                   std::chrono::duration<double>(Clock::now() - began).count(),
                   s.warmup + s.duration);
  });

  reports::LoadResult r = assemble(p, s, line, workers);
  double elapsed = measured_seconds(p, o, line, workers, s.duration, r);
  r.achieved_rate = elapsed > 0 ? static_cast<double>(r.iterations) / elapsed : 0;
  r.rate_kept = p.executor == Profile::Executor::closed || r.missed_starts == 0;
  for (const auto& t : p.thresholds) r.thresholds.push_back(reports::evaluate(t, r));
  return r;
}

}  // namespace sockspec::load
