#include "reports/compare/fail_on.h"

#include <array>
#include <cctype>
#include <cmath>
#include <cstdlib>

namespace sockspec::reports::compare {

namespace {

constexpr std::array kRelative{"p50", "p90", "p99", "p99.9", "mean", "rate"};
constexpr std::array kPoints{"errors", "loss", "missed"};
constexpr std::array kCounts{"newly-failing", "newly-flaky", "newly-passing", "new", "gone"};

template <typename A>
bool in(const A& names, const std::string& s) {
  for (const char* n : names)
    if (s == n) return true;
  return false;
}

std::string trim(const std::string& s) {
  std::size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return s.substr(b, e - b);
}

const char* kMetrics =
    "p50, p90, p99, p99.9, mean, rate (in %); errors, loss, missed (in pp); newly-failing, "
    "newly-flaky, newly-passing, new, gone (counts)";

}  // namespace

bool is_case_count(const std::string& metric) { return in(kCounts, metric); }

FailOnParse parse_fail_on(const std::string& text) {
  FailOnParse out;
  auto fail = [&](const std::string& why) {
    out.error = "--fail-on '" + text + "': " + why;
    return out;
  };
  std::size_t op_at = text.find_first_of("<>");
  if (op_at == std::string::npos)
    return fail("expected METRIC > CHANGE or METRIC < CHANGE, e.g. 'p99 > +10%'");
  FailOn r;
  r.text = text;
  r.metric = trim(text.substr(0, op_at));
  bool greater = text[op_at] == '>';
  std::size_t value_at = op_at + 1;
  bool equal = value_at < text.size() && text[value_at] == '=';
  if (equal) ++value_at;
  r.op = greater ? (equal ? FailOn::Op::ge : FailOn::Op::gt)
                 : (equal ? FailOn::Op::le : FailOn::Op::lt);
  std::string value = trim(text.substr(value_at));
  if (r.metric.empty())
    return fail("no metric before the comparison; one of " + std::string(kMetrics));

  std::string unit;
  if (value.size() >= 2 && value.compare(value.size() - 2, 2, "pp") == 0)
    unit = "pp";
  else if (!value.empty() && value.back() == '%')
    unit = "%";
  std::string number = trim(value.substr(0, value.size() - unit.size()));
  char* end = nullptr;
  double v = number.empty() ? NAN : std::strtod(number.c_str(), &end);
  if (number.empty() || end != number.c_str() + number.size() || !std::isfinite(v))
    return fail("'" + value + "' is not a number" +
                (unit.empty() ? std::string(" (e.g. +10%, -5%, +0.1pp, 0)") : ""));

  if (in(kRelative, r.metric)) {
    if (unit != "%")
      return fail(r.metric + " changes are relative: write them in percent, e.g. '" + r.metric +
                  (greater ? " > +10%'" : " < -5%'"));
    if (v <= -100) return fail("a change of " + value + " would be below zero");
    r.unit = FailOn::Unit::relative;
    r.value = v / 100;
  } else if (in(kPoints, r.metric)) {
    if (unit != "pp")
      return fail(r.metric + " is a fraction: write its change in percentage points, e.g. '" +
                  r.metric + " > +0.1pp' (one more in a thousand)");
    r.unit = FailOn::Unit::points;
    r.value = v / 100;
  } else if (in(kCounts, r.metric)) {
    if (!unit.empty())
      return fail(r.metric + " is a number of cases: write it plain, e.g. '" + r.metric + " > 0'");
    r.unit = FailOn::Unit::count;
    r.value = v;
  } else {
    return fail("unknown metric '" + r.metric + "'; one of " + kMetrics);
  }
  out.rule = r;
  return out;
}

bool past(const FailOn& rule, double change) {
  switch (rule.op) {
    case FailOn::Op::gt:
      return change > rule.value;
    case FailOn::Op::ge:
      return change >= rule.value;
    case FailOn::Op::lt:
      return change < rule.value;
    case FailOn::Op::le:
      return change <= rule.value;
  }
  return false;
}

}  // namespace sockspec::reports::compare
