// The console table and the Markdown summary of a comparison.
#include <cmath>
#include <cstdio>
#include <iomanip>

#include "reports/compare/writers.h"
#include "reports/thresholds.h"

namespace sockspec::reports::compare {

using stats::p_text;

std::string value_text(const MetricChange& m, double v) {
  switch (m.kind) {
    case MetricKind::latency:
      return format_metric("p50", v);
    case MetricKind::rate:
      return format_metric("rate", v);
    case MetricKind::fraction:
      return format_metric("error_rate", v);
  }
  return "";
}

std::string change_text(const MetricChange& m) {
  if (m.decided_by.empty()) return "no data";
  return m.significant ? signed_change(m, m.change) : "~";
}

std::string interval_text(const MetricChange& m) {
  if (m.decided_by.empty()) return "";
  return "[" + signed_change(m, m.lo) + ", " + signed_change(m, m.hi) + "]";
}

std::string verdict_line(const Comparison& c) {
  if (c.fail_on.empty()) return "no --fail-on rule given: nothing judged (exit 0)";
  unsigned failed = 0;
  for (const auto& r : c.fail_on) failed += r.failed;
  return failed ? std::to_string(failed) + " of " + std::to_string(c.fail_on.size()) +
                      " --fail-on rules failed (exit 1)"
                : "every --fail-on rule held (exit 0)";
}

namespace {

std::string sides(const ProfileComparison& p) {
  return std::to_string(p.old_runs) + (p.old_runs == 1 ? " run" : " runs") + " -> " +
         std::to_string(p.new_runs) + (p.new_runs == 1 ? " run" : " runs");
}

std::string distribution_text(const ProfileComparison& p) {
  char b[160];
  std::snprintf(b, sizeof b,
                "P(a new latency > a base latency) = %.3f (0.5: no shift; Mann-Whitney U, p %s)",
                p.distribution.prob_b_greater, p_text(p.distribution.p).c_str());
  return b;
}

}  // namespace

void write_console(const Comparison& c, std::ostream& out) {
  for (const auto& w : c.warnings) out << "warning: " << w << "\n";
  if (c.cases_compared || !c.cases.empty()) {
    out << "Conformance: " << c.cases_compared << " cases on both sides, " << c.cases.size()
        << " changed\n";
    for (const auto& cc : c.cases) {
      out << "  " << std::left << std::setw(14) << to_string(cc.kind) << " " << cc.id << "  "
          << cc.old_verdict << " -> " << cc.new_verdict;
      if (!cc.reason.empty()) out << "  (" << cc.reason << ")";
      out << "\n";
    }
  }
  for (const auto& p : c.profiles) {
    out << "\nLoad " << p.profile << ": " << sides(p) << " (base " << p.old_target << ", new "
        << p.new_target << ")\n";
    out << "  " << std::left << std::setw(8) << "metric" << std::setw(12) << "base" << std::setw(12)
        << "new" << std::setw(11) << "change" << std::setw(24) << "95% interval" << std::setw(8)
        << "p"
        << "decided by\n";
    for (const auto& m : p.metrics)
      out << "  " << std::setw(8) << m.name << std::setw(12) << value_text(m, m.old_value)
          << std::setw(12) << value_text(m, m.new_value) << std::setw(11) << change_text(m)
          << std::setw(24) << interval_text(m) << std::setw(8)
          << (m.decided_by.empty() ? "" : p_text(m.p)) << m.decided_by << "\n";
    out << "  " << distribution_text(p) << "\n";
    for (const auto& n : p.notes) out << "  note: " << n << "\n";
  }
  if (!c.fail_on.empty()) out << "\n";
  for (const auto& r : c.fail_on)
    out << (r.failed ? "FAIL " : "ok   ") << r.rule.text << ": " << r.detail << "\n";
  out << "compare: " << verdict_line(c) << "\n";
}

void write_markdown(const Comparison& c, std::ostream& out) {
  unsigned failed = 0;
  for (const auto& r : c.fail_on) failed += r.failed;
  out << "## sockspec compare: " << (failed ? "regression" : "no failed rule") << "\n\n";
  for (const auto& w : c.warnings) out << "> **warning:** " << w << "\n\n";
  if (!c.fail_on.empty()) {
    out << "| rule | result | figures |\n|---|---|---|\n";
    for (const auto& r : c.fail_on)
      out << "| `" << r.rule.text << "` | " << (r.failed ? "**FAIL**" : "ok") << " | " << r.detail
          << " |\n";
    out << "\n";
  }
  if (c.cases_compared || !c.cases.empty()) {
    out << "### Conformance\n\n"
        << c.cases_compared << " cases on both sides, " << c.cases.size() << " changed.\n\n";
    if (!c.cases.empty()) {
      out << "| change | case | base | new | why |\n|---|---|---|---|---|\n";
      for (const auto& cc : c.cases)
        out << "| " << to_string(cc.kind) << " | `" << cc.id << "` | " << cc.old_verdict << " | "
            << cc.new_verdict << " | " << cc.reason << " |\n";
      out << "\n";
    }
  }
  for (const auto& p : c.profiles) {
    out << "### Load `" << p.profile << "` (" << sides(p) << ")\n\n";
    out << "| metric | base | new | change | 95% interval | p | decided by |\n"
           "|---|---:|---:|---:|---|---:|---|\n";
    for (const auto& m : p.metrics)
      out << "| " << m.name << " | " << value_text(m, m.old_value) << " | "
          << value_text(m, m.new_value) << " | " << change_text(m) << " | " << interval_text(m)
          << " | " << (m.decided_by.empty() ? "" : p_text(m.p)) << " | " << m.decided_by << " |\n";
    out << "\n" << distribution_text(p) << ". `~`: not significant at α = " << c.alpha << ".\n\n";
    for (const auto& n : p.notes) out << "_Note: " << n << "._\n\n";
  }
  out << "**" << verdict_line(c) << "**\n";
}

}  // namespace sockspec::reports::compare
