// `sockspec load --find-max`: the capacity search run for real. Each step is an ordinary load
// run (load::run_load) at one rate or number of users; load::Search decides what comes next.
#pragma once

#include <map>
#include <ostream>
#include <string>

#include "load/driver.h"
#include "load/profile.h"
#include "reports/model.h"

namespace sockspec::runner {

struct FindMaxOptions {
  bool enabled = false;
  double min = 0, max = 0;  // 0: the defaults for the profile's executor
  double precision = 0.05;
  double step_duration_s = 0;  // 0: the run's duration (--duration or the profile's)
  double budget_s = 600;
  unsigned repeats = 3;
};

struct FindMaxRun {
  reports::FindMaxResult result;
  // The run at the found value (the last passing run there), or the last run when none
  // passed: the report's `load` section.
  reports::LoadResult answer;
  bool any_passed = false;
};

// Runs the search. `base` carries the target, seed and overrides every step starts from;
// one line per run goes to `out`.
FindMaxRun find_max(const load::Profile& profile, const load::LoadOptions& base,
                    const FindMaxOptions& o, std::ostream& out);

}  // namespace sockspec::runner
