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
  // The median over the step's runs (of an even number, the higher middle one: then a p99
  // median over the limit means at least half the runs broke it, as a tie fails the step), and
  // the lowest and highest of the runs (the spread).
  double rate = 0, rate_lo = 0, rate_hi = 0;
  double p50 = 0, p90 = 0, p99 = 0, p99_lo = 0, p99_hi = 0, service_p99 = 0;
  double generator_cpu = 0;
  std::string why;  // of the last failing run
};

// Steps in increasing order of the knob.
std::vector<FindMaxStep> find_max_steps(const FindMaxResult& f);

// The higher middle value (the median of an odd count); 0 when empty.
double upper_median(std::vector<double> v);

// "rate" -> "1,234/s"; "vus" -> "16 users".
std::string format_knob(const FindMaxResult& f, double knob);

// "412us" or "398us-431us" when the runs differ.
std::string format_spread(double lo, double hi);

// The steps' table, one source for the HTML and Markdown reports so they say the same: the
// column headers, and a step's cells (the verdict, column 1, is "pass" or "fail").
std::vector<std::string> find_max_columns(const FindMaxResult& f);
std::vector<std::string> find_max_cells(const FindMaxResult& f, const FindMaxStep& s);

}  // namespace sockspec::reports
