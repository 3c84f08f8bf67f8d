// Pass/fail conditions on a load result, written as people say them:
//   "p99 < 2ms", "p99.9 <= 10ms", "mean < 500us", "error_rate < 0.1%", "rate >= 19000/s",
//   "connect_p99 < 5ms", "service_p50 < 1ms", "errors == 0", "missed_starts == 0"
// Parsing is pure; evaluation reads only the result model, so a merged report can re-check.
#pragma once

#include <optional>
#include <string>

namespace sockspec::reports {

struct LoadResult;
struct ThresholdResult;

struct Threshold {
  enum class Op { lt, le, gt, ge, eq };
  std::string text;    // as written
  std::string metric;  // p99, connect_p99, mean, max, error_rate, rate, errors, ...
  Op op = Op::lt;
  double value = 0;  // in the metric's base unit: nanoseconds, a fraction, per second, a count
};

struct ThresholdParse {
  std::optional<Threshold> threshold;
  std::string error;
};
ThresholdParse parse_threshold(const std::string& text);

// The metric's value on a result (nanoseconds for latencies); nullopt if it has no value.
std::optional<double> metric_value(const LoadResult& r, const std::string& metric);
bool holds(const Threshold& t, double actual);
// The threshold checked on a result; a metric without data fails it ("no data").
ThresholdResult evaluate(const Threshold& t, const LoadResult& r);
// "1.23ms", "0.05%", "19876/s", "12" — the value shown next to a threshold.
std::string format_metric(const std::string& metric, double value);

}  // namespace sockspec::reports
