#include "runner/find_max.h"

#include <sys/resource.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <thread>

#include "load/search.h"
#include "reports/find_max.h"
#include "reports/thresholds.h"
#include "runner/report_files.h"

namespace sockspec::runner {

namespace {

using Clock = std::chrono::steady_clock;

double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

// A threshold on the iterations' latency (p99, mean, max): one the service time can be held
// against too.
bool latency_metric(const std::string& m) {
  return m == "mean" || m == "max" || m == "min" ||
         (m.size() > 1 && m[0] == 'p' && (std::isdigit(static_cast<unsigned char>(m[1])) != 0));
}

std::string lat(uint64_t ns) { return reports::format_metric("p99", static_cast<double>(ns)); }

// What failed in a run, in a few words.
std::string why_failed(const reports::LoadResult& r) {
  std::string why;
  for (const auto& t : r.thresholds) {
    if (t.passed) continue;
    why += (why.empty() ? "" : "; ") + t.expression + " (was " + t.shown + ")";
  }
  if (!r.rate_kept) {
    why += (why.empty() ? "" : "; ") + std::to_string(r.missed_starts) + " missed starts";
  }
  return why;
}

// Whether a failed run failed because of the generator: its threads were saturated, or (open
// loop) the schedule slipped while the server answered well within the latency goal, so the
// waiting was the generator's (too busy, or too few connections to start on time).
bool generator_limited(const load::Profile& p, const reports::LoadResult& r, double cpu,
                       std::string& why) {
  if (cpu >= 0.9) {
    char buf[160];
    std::snprintf(buf, sizeof buf, "its threads were busy %.0f%% of the time", cpu * 100);
    why = buf;
    return true;
  }
  if (r.target_rate <= 0 || r.errors > 0) return false;
  for (const auto& t : p.thresholds) {
    if (!latency_metric(t.metric)) continue;
    auto service = reports::metric_value(r, "service_" + t.metric);
    auto latency = reports::metric_value(r, t.metric);
    if (!service || !latency || reports::holds(t, *latency)) continue;
    if (*service <= t.value / 2) {
      why = "starts slipped behind the schedule (" + t.metric + " " +
            lat(static_cast<uint64_t>(*latency)) + ") while the server answered in " +
            lat(static_cast<uint64_t>(*service)) + " (service " + t.metric +
            ", the server's share): ";
      // Little's law: connections busy on average = rate x mean service time.
      double busy = r.achieved_rate * r.service.mean() / 1e9;
      char buf[200];
      if (busy >= 0.8 * r.connections) {
        std::snprintf(buf, sizeof buf, "all %u connections were busy; raise --connections",
                      r.connections);
      } else {
        std::snprintf(buf, sizeof buf,
                      "only %.1f of %u connections were busy on average, so the generator's "
                      "threads started late (not scheduled on time, or their timers woke late)",
                      busy, r.connections);
      }
      why += buf;
      return true;
    }
  }
  return false;
}

// The sentence that answers the question, from the search's end state.
std::string answer(const reports::FindMaxResult& f, const std::string& limit_why) {
  auto steps = reports::find_max_steps(f);
  auto step_at = [&](double knob) -> const reports::FindMaxStep* {
    for (const auto& s : steps)
      if (s.knob == knob) return &s;
    return nullptr;
  };
  auto describe = [&](double knob) {
    const reports::FindMaxStep* s = step_at(knob);
    std::string d = reports::format_knob(f, knob);
    if (!s) return d;
    // The step as the table shows it: its median p99 and, repeated, the range of its runs.
    d += " (" + std::to_string(s->passes) + " of " + std::to_string(s->runs) +
         " runs passed, p99 " + reports::format_metric("p99", s->p99);
    std::string range = reports::format_spread(s->p99_lo, s->p99_hi);
    if (s->runs > 1 && range != reports::format_metric("p99", s->p99)) d += ", runs " + range;
    d += ")";
    return d;
  };
  std::string rate = f.rate ? reports::format_metric("rate", *f.rate) : "";
  std::string found = f.found ? reports::format_knob(f, *f.found) : "";
  if (f.mode == "vus" && f.found) found += " at " + rate;
  if (f.outcome == "found") {
    return "highest " + std::string(f.mode == "vus" ? "load" : "rate") +
           " within the goal: " + found + "; last pass " + describe(*f.found) + ", first fail " +
           describe(*f.first_fail) + "";
  }
  if (f.outcome == "min-failed") {
    const reports::FindMaxStep* s = f.first_fail ? step_at(*f.first_fail) : nullptr;
    return "even the minimum, " + reports::format_knob(f, f.min) + ", fails the goal" +
           (s && !s->why.empty() ? ": " + s->why : "") + " (lower --min)";
  }
  if (f.outcome == "max-passed") {
    return "the maximum, " + found + ", passes: the capacity is at least that (raise --max)";
  }
  if (f.outcome == "plateau") {
    return "throughput stops growing at " + found + ": twice the users gave less than 10% more" +
           (limit_why.empty() ? "" : " (the generator " + limit_why + ")");
  }
  std::string passed = f.found ? found + " passed" : "no step passed";
  if (f.outcome == "generator-limit") {
    return "the generator, not the server, is the bottleneck at " +
           reports::format_knob(f, *f.first_fail) + ": " + limit_why + "; " + passed +
           (f.found ? " (the server's capacity is at least that)" : "");
  }
  if (f.outcome == "interrupted") return "interrupted: " + passed;
  return "the budget of " + std::to_string(static_cast<int>(f.budget_s)) + " s ran out: " + passed +
         (f.first_fail ? ", " + reports::format_knob(f, *f.first_fail) + " failed" : "");
}

}  // namespace

FindMaxRun find_max(const load::Profile& profile, const load::LoadOptions& base,
                    const FindMaxOptions& o, std::ostream& out) {
  const bool open = profile.executor != load::Profile::Executor::closed;
  FindMaxRun result;
  reports::FindMaxResult& f = result.result;
  f.mode = open ? "rate" : "vus";
  f.min = o.min > 0 ? o.min : (open ? 100 : 1);
  f.max = o.max > 0 ? o.max : (open ? 10'000'000 : 4096);
  f.precision = o.precision;
  f.repeats = o.repeats;
  f.budget_s = o.budget_s;
  f.step_duration_s = o.step_duration_s > 0
                          ? o.step_duration_s
                          : (base.duration_s > 0 ? base.duration_s : profile.duration_s);
  f.warmup_s = base.warmup_s >= 0 ? base.warmup_s : profile.warmup_s;
  for (const auto& t : profile.thresholds) {
    f.thresholds.push_back(t.text);
    if (f.latency_metric.empty() && latency_metric(t.metric)) {
      f.latency_metric = t.metric;
      f.latency_limit_ns = t.value;
    }
  }
  load::SearchSettings set;
  set.min = f.min;
  set.max = f.max;
  set.precision = f.precision;
  set.repeats = f.repeats;
  set.integer = !open;
  set.plateau_gain = open ? 0 : 0.1;
  load::Search search(set);

  // The longest a step can take: the start, warm-up and window, then due starts may still
  // begin for one step timeout, then the watchdog's second. A step is begun only if even this
  // fits in what is left of the budget.
  double worst_step = 0.02 + f.warmup_s + f.step_duration_s +
                      static_cast<double>(profile.default_timeout_ms) / 1000 + 1.0;
  auto started = Clock::now();
  auto elapsed = [&] { return std::chrono::duration<double>(Clock::now() - started).count(); };
  unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  std::map<double, reports::LoadResult> passing;  // the last passing run at each value
  std::string limit_why;
  bool interrupted = false;
  out << "capacity search: " << (open ? "rate" : "virtual users") << " from "
      << reports::format_knob(f, f.min) << " up to " << reports::format_knob(f, f.max)
      << ", steps of " << f.step_duration_s << " s after " << f.warmup_s << " s warm-up, precision "
      << f.precision * 100 << "%, budget " << f.budget_s << " s\n";
  while (auto knob = search.next()) {
    if (elapsed() + worst_step > f.budget_s) {
      search.out_of_budget();
      break;
    }
    if (cancel_requested(base.cancel_fd)) {
      interrupted = true;
      break;
    }
    load::LoadOptions lo = base;
    lo.duration_s = f.step_duration_s;
    lo.warmup_s = f.warmup_s;
    if (open) {
      lo.rate = *knob;
    } else {
      lo.connections = static_cast<unsigned>(*knob);
    }
    double cpu0 = cpu_seconds();
    auto t0 = Clock::now();
    reports::LoadResult r = load::run_load(profile, lo, nullptr);
    double wall = std::chrono::duration<double>(Clock::now() - t0).count();
    reports::FindMaxRun run;
    run.knob = *knob;
    run.generator_cpu = std::clamp(
        (cpu_seconds() - cpu0) / (std::max(wall, 1e-3) * std::min(r.threads, cores)), 0.0, 1.0);
    run.passed =
        r.rate_kept && std::all_of(r.thresholds.begin(), r.thresholds.end(),
                                   [](const reports::ThresholdResult& t) { return t.passed; });
    run.achieved_rate = r.achieved_rate;
    run.p50_ns = r.latency.percentile(50);
    run.p90_ns = r.latency.percentile(90);
    run.p99_ns = r.latency.percentile(99);
    run.service_p99_ns = r.service.percentile(99);
    run.errors = r.errors;
    run.missed_starts = r.missed_starts;
    if (!run.passed) {
      run.why = why_failed(r);
      std::string gen_why;
      run.generator_limited = generator_limited(profile, r, run.generator_cpu, gen_why);
      if (run.generator_limited) {
        limit_why = gen_why;
        run.why += (run.why.empty() ? "" : "; ") + std::string("generator: ") + gen_why;
      }
    }
    char line[256];
    std::snprintf(line, sizeof line,
                  "  %-14s %s  achieved %-10s p50 %-9s p90 %-9s p99 %-9s service p99 %-9s "
                  "generator CPU %3.0f%%",
                  reports::format_knob(f, *knob).c_str(), run.passed ? "pass" : "FAIL",
                  reports::format_metric("rate", r.achieved_rate).c_str(), lat(run.p50_ns).c_str(),
                  lat(run.p90_ns).c_str(), lat(run.p99_ns).c_str(), lat(run.service_p99_ns).c_str(),
                  run.generator_cpu * 100);
    out << line << (run.why.empty() ? "" : "  (" + run.why + ")") << "\n" << std::flush;
    f.runs.push_back(run);
    search.record({run.passed, run.generator_limited, r.achieved_rate});
    if (run.passed) passing[*knob] = r;
    result.answer = std::move(r);  // replaced by the found value's run at the end
  }
  if (search.outcome() == load::Search::Outcome::running) search.out_of_budget();
  f.outcome = interrupted ? "interrupted" : load::to_string(search.outcome());
  f.found = search.last_pass();
  f.first_fail = search.first_fail();
  if (f.found) {
    f.rate = open ? *f.found : search.last_pass_throughput();
    result.answer = passing[*f.found];
    result.any_passed = true;
  }
  if (f.outcome == "plateau") {  // was the generator saturated where throughput flattened?
    limit_why.clear();
    const auto& last = f.runs.back();
    if (last.generator_cpu >= 0.9) {
      char buf[120];
      std::snprintf(buf, sizeof buf, "was busy %.0f%% of the time there: it may be the bottleneck",
                    last.generator_cpu * 100);
      limit_why = buf;
    }
  }
  f.elapsed_s = elapsed();
  f.message = answer(f, limit_why);
  return result;
}

}  // namespace sockspec::runner
