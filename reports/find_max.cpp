#include "reports/find_max.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>

#include "reports/thresholds.h"

namespace sockspec::reports {

double upper_median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

std::vector<FindMaxStep> find_max_steps(const FindMaxResult& f) {
  std::map<double, std::vector<const FindMaxRun*>> by_knob;
  for (const auto& r : f.runs) by_knob[r.knob].push_back(&r);
  std::vector<FindMaxStep> steps;
  for (const auto& [knob, runs] : by_knob) {
    FindMaxStep s;
    s.knob = knob;
    s.runs = static_cast<unsigned>(runs.size());
    std::vector<double> rate, p50, p90, p99, service, cpu;
    for (const FindMaxRun* r : runs) {
      s.passes += r->passed ? 1 : 0;
      s.generator_limited = s.generator_limited || r->generator_limited;
      if (!r->passed) s.why = r->why;
      rate.push_back(r->achieved_rate);
      p50.push_back(static_cast<double>(r->p50_ns));
      p90.push_back(static_cast<double>(r->p90_ns));
      p99.push_back(static_cast<double>(r->p99_ns));
      service.push_back(static_cast<double>(r->service_p99_ns));
      cpu.push_back(r->generator_cpu);
    }
    s.rate_lo = *std::min_element(rate.begin(), rate.end());
    s.rate_hi = *std::max_element(rate.begin(), rate.end());
    s.p99_lo = *std::min_element(p99.begin(), p99.end());
    s.p99_hi = *std::max_element(p99.begin(), p99.end());
    s.rate = upper_median(rate);
    s.p50 = upper_median(p50);
    s.p90 = upper_median(p90);
    s.p99 = upper_median(p99);
    s.service_p99 = upper_median(service);
    s.generator_cpu = upper_median(cpu);
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

std::vector<std::string> find_max_columns(const FindMaxResult& f) {
  return {f.mode == "vus" ? "users" : "rate asked",
          "verdict",
          "runs",
          "achieved",
          "p50",
          "p90",
          "p99 (runs' range)",
          "service p99",
          "generator CPU",
          "why"};
}

std::vector<std::string> find_max_cells(const FindMaxResult& f, const FindMaxStep& s) {
  std::string p99 = format_metric("p99", s.p99);
  std::string range = format_spread(s.p99_lo, s.p99_hi);
  if (range != p99) p99 += " (" + range + ")";
  char cpu[16];
  std::snprintf(cpu, sizeof cpu, "%.0f%%", s.generator_cpu * 100);
  return {format_knob(f, s.knob),
          s.passed ? "pass" : "fail",
          std::to_string(s.passes) + "/" + std::to_string(s.runs) + " passed",
          format_metric("rate", s.rate),
          format_metric("p50", s.p50),
          format_metric("p90", s.p90),
          p99,
          format_metric("p99", s.service_p99),
          cpu,
          s.why};
}

}  // namespace sockspec::reports
