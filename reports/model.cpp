#include "reports/model.h"

namespace sockspec::reports {

const char* to_string(Verdict v) {
  switch (v) {
    case Verdict::pass:
      return "pass";
    case Verdict::fail:
      return "fail";
    case Verdict::error:
      return "error";
    case Verdict::skip:
      return "skip";
    case Verdict::warn:
      return "warn";
    case Verdict::xfail:
      return "xfail";
    case Verdict::xpass:
      return "xpass";
  }
  return "error";
}

bool is_failing(Verdict v) {
  return v == Verdict::fail || v == Verdict::error || v == Verdict::xpass;
}

void Counts::add(Verdict v) {
  switch (v) {
    case Verdict::pass:
      ++pass;
      break;
    case Verdict::fail:
      ++fail;
      break;
    case Verdict::error:
      ++error;
      break;
    case Verdict::skip:
      ++skip;
      break;
    case Verdict::warn:
      ++warn;
      break;
    case Verdict::xfail:
      ++xfail;
      break;
    case Verdict::xpass:
      ++xpass;
      break;
  }
}

Counts counts_of(const SuiteResult& s) {
  Counts c;
  for (const auto& cs : s.cases) c.add(cs.verdict);
  return c;
}

Counts RunReport::counts() const {
  Counts c;
  for (const auto& s : suites) {
    for (const auto& cs : s.cases) c.add(cs.verdict);
  }
  return c;
}

}  // namespace sockspec::reports
