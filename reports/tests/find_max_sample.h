// A capacity search with fixed numbers, shared by the writers' and the charts' tests: 1000/s and
// 2000/s pass; 3000/s passes 2 of 3 runs (the mean of its p99s, 1.2ms, is over the 1ms limit,
// their median, 900us, under it); 4000/s passes 1 of 2 (a tie, so it fails).
#pragma once

#include "reports/model.h"
#include "reports/thresholds.h"

namespace sockspec::reports {

inline FindMaxResult sample_find_max() {
  FindMaxResult f;
  f.outcome = "found";
  f.message = "highest rate within the goal: 3000/s";
  f.found = 3000;
  f.rate = 3000;
  f.first_fail = 4000;
  f.min = 1000;
  f.max = 1e7;
  f.precision = 0.05;
  f.repeats = 3;
  f.step_duration_s = 2;
  f.warmup_s = 0.5;
  f.budget_s = 600;
  f.elapsed_s = 21.5;
  f.thresholds = {"p99 < 1ms"};
  f.latency_metric = "p99";
  f.latency_limit_ns = 1e6;
  auto run = [&](double knob, bool passed, uint64_t p99) {
    FindMaxRun x;
    x.knob = knob;
    x.passed = passed;
    x.achieved_rate = knob;
    x.p50_ns = p99 / 4;
    x.p90_ns = p99 / 2;
    x.p99_ns = p99;
    x.service_p99_ns = p99 / 2;
    x.generator_cpu = 0.25;
    if (!passed) x.why = "p99 < 1ms (was " + format_metric("p99", static_cast<double>(p99)) + ")";
    f.runs.push_back(x);
  };
  run(1000, true, 200'000);
  run(2000, true, 300'000);
  run(4000, true, 600'000);
  run(4000, false, 9'000'000);
  run(3000, true, 800'000);
  run(3000, false, 1'900'000);
  run(3000, true, 900'000);
  return f;
}

}  // namespace sockspec::reports
