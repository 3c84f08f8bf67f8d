// --fail-on rules on a comparison, written as people say them:
//   "p99 > +10%"      latency p99 rose more than 10% (and significantly)
//   "rate < -5%"      throughput fell more than 5% (and significantly)
//   "errors > +0.1pp" the error rate rose by more than 0.1 percentage points (and significantly)
//   "newly-failing > 0"  a case that passed now fails
// Latency and rate changes are relative (%); errors, loss and missed starts are fractions, so
// their change is in percentage points (pp); case counts are plain numbers.
#pragma once

#include <optional>
#include <string>

namespace sockspec::reports::compare {

struct FailOn {
  enum class Unit { relative, points, count };
  enum class Op { gt, ge, lt, le };
  std::string text;    // as written
  std::string metric;  // p50 p90 p99 p99.9 mean rate errors loss missed, or a case count
  Op op = Op::gt;
  double value = 0;  // relative: 0.10 for +10%; points: 0.001 for +0.1pp; count: as is
  Unit unit = Unit::relative;
};

struct FailOnParse {
  std::optional<FailOn> rule;
  std::string error;
};
FailOnParse parse_fail_on(const std::string& text);

bool past(const FailOn& rule, double change);
// Case-count metrics: newly-failing newly-flaky newly-passing new gone
bool is_case_count(const std::string& metric);

}  // namespace sockspec::reports::compare
