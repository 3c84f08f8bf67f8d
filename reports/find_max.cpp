#include "reports/find_max.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "reports/thresholds.h"

namespace sockspec::reports {

std::vector<FindMaxStep> find_max_steps(const FindMaxResult& f) {
  std::map<double, std::vector<const FindMaxRun*>> by_knob;
  for (const auto& r : f.runs) by_knob[r.knob].push_back(&r);
  std::vector<FindMaxStep> steps;
  for (const auto& [knob, runs] : by_knob) {
    FindMaxStep s;
    s.knob = knob;
    s.runs = static_cast<unsigned>(runs.size());
    s.rate_lo = s.p99_lo = 1e300;
    for (const FindMaxRun* r : runs) {
      s.passes += r->passed ? 1 : 0;
      s.generator_limited = s.generator_limited || r->generator_limited;
      if (!r->passed) s.why = r->why;
      s.rate += r->achieved_rate;
      s.rate_lo = std::min(s.rate_lo, r->achieved_rate);
      s.rate_hi = std::max(s.rate_hi, r->achieved_rate);
      s.p50 += static_cast<double>(r->p50_ns);
      s.p90 += static_cast<double>(r->p90_ns);
      double p99 = static_cast<double>(r->p99_ns);
      s.p99 += p99;
      s.p99_lo = std::min(s.p99_lo, p99);
      s.p99_hi = std::max(s.p99_hi, p99);
      s.service_p99 += static_cast<double>(r->service_p99_ns);
      s.generator_cpu += r->generator_cpu;
    }
    double n = static_cast<double>(s.runs);
    for (double* v : {&s.rate, &s.p50, &s.p90, &s.p99, &s.service_p99, &s.generator_cpu}) *v /= n;
    s.passed = s.passes * 2 > s.runs;
    steps.push_back(s);
  }
  return steps;
}

std::string format_knob(const FindMaxResult& f, double knob) {
  if (f.mode == "vus") {
    auto n = static_cast<long long>(std::llround(knob));
    return std::to_string(n) + (n == 1 ? " user" : " users");
  }
  return format_metric("rate", knob);
}

std::string format_spread(double lo, double hi) {
  std::string a = format_metric("p99", lo), b = format_metric("p99", hi);
  return a == b ? a : a + "-" + b;
}

}  // namespace sockspec::reports
