// A capacity search's runs grouped into steps (one per value tried), with the spread of the
// repeated measurements: what the writers show as the search's table and chart.
#pragma once

#include <string>
#include <vector>

#include "reports/model.h"

namespace sockspec::reports {

struct FindMaxStep {
  double knob = 0;
  unsigned runs = 0, passes = 0;
  bool passed = false;  // the majority of its runs passed (a tie is a failure)
  bool generator_limited = false;
  // Means over the step's runs, and the lowest and highest of each (the spread).
  double rate = 0, rate_lo = 0, rate_hi = 0;
  double p50 = 0, p90 = 0, p99 = 0, p99_lo = 0, p99_hi = 0, service_p99 = 0;
  double generator_cpu = 0;
  std::string why;  // of the last failing run
};

// Steps in increasing order of the knob.
std::vector<FindMaxStep> find_max_steps(const FindMaxResult& f);

// "rate" -> "1,234/s"; "vus" -> "16 users".
std::string format_knob(const FindMaxResult& f, double knob);

// "412us" or "398us-431us" when the runs differ.
std::string format_spread(double lo, double hi);

}  // namespace sockspec::reports
