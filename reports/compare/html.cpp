// The comparison as one self-contained HTML page: the rules, changed cases, and per profile the
// figures with both sides' charts on shared axes. No network fetches, like the run report.
#include "reports/charts.h"
#include "reports/compare/writers.h"
#include "reports/html_writer.h"
#include "reports/svg_chart.h"
#include "reports/text.h"

namespace sockspec::reports::compare {

using stats::p_text;

namespace {
std::string esc(const std::string& s) { return markup_escape(s); }

std::string files(const std::vector<std::string>& f) {
  std::string out;
  for (const auto& x : f) out += (out.empty() ? "" : ", ") + x;
  return out;
}
}  // namespace

void write_html(const Comparison& c, std::ostream& out) {
  bool bad = c.exit_code != 0;
  out << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" "
         "content=\"width=device-width,initial-scale=1\"><title>sockspec compare</title><style>"
      << html_style() << ".sig{font-weight:600}.ns{color:#5b6475}</style></head><body>\n";
  out << "<header><h1>sockspec compare — <span class=\""
      << (bad ? "status-bad\">regression" : "status-ok\">no failed rule") << "</span> (exit "
      << c.exit_code << ")</h1><div class=\"meta\">base: " << esc(files(c.old_files))
      << "</div><div class=\"meta\">new: " << esc(files(c.new_files)) << "</div></header>\n<main>";
  for (const auto& w : c.warnings)
    out << "<section><strong>Warning:</strong> " << esc(w) << "</section>";
  if (!c.fail_on.empty()) {
    out << "<section id=\"rules\"><h2>--fail-on</h2><table><tr><th>rule</th><th>result</th><th>"
           "figures</th></tr>";
    for (const auto& r : c.fail_on)
      out << "<tr><td><code>" << esc(r.rule.text)
          << "</code></td><td class=\"verdict\"><span class=\""
          << (r.failed ? "v-fail\">fail" : "v-pass\">ok") << "</span></td><td>" << esc(r.detail)
          << "</td></tr>";
    out << "</table></section>";
  }
  if (c.cases_compared || !c.cases.empty()) {
    out << "<section id=\"cases\"><h2>Conformance</h2><p>" << c.cases_compared
        << " cases on both sides, " << c.cases.size() << " changed.</p>";
    if (!c.cases.empty()) {
      out << "<table><tr><th>change</th><th>case</th><th>base</th><th>new</th><th>why</th></tr>";
      for (const auto& cc : c.cases) {
        bool worse =
            cc.kind == CaseChangeKind::newly_failing || cc.kind == CaseChangeKind::newly_flaky;
        out << "<tr class=\"case\"><td class=\"verdict\"><span class=\""
            << (worse                                      ? "v-fail"
                : cc.kind == CaseChangeKind::newly_passing ? "v-pass"
                                                           : "v-skip")
            << "\">" << to_string(cc.kind) << "</span></td><td><code>" << esc(cc.id) << "</code> "
            << esc(cc.title) << "</td><td>" << esc(cc.old_verdict) << "</td><td>"
            << esc(cc.new_verdict) << "</td><td>" << esc(cc.reason) << "</td></tr>";
      }
      out << "</table>";
    }
    out << "</section>";
  }
  int index = 0;
  for (const auto& p : c.profiles) {
    ++index;
    out << "<section class=\"profile\"><h2>Load: " << esc(p.profile) << " <span class=\"spec\">("
        << p.old_runs << " base runs against " << esc(p.old_target) << ", " << p.new_runs
        << " new runs against " << esc(p.new_target) << ")</span></h2>";
    out << "<table class=\"metrics\"><tr><th>metric</th><th>base</th><th>new</th><th>change</th>"
           "<th>95% interval</th><th>p</th><th>decided by</th></tr>";
    for (const auto& m : p.metrics)
      out << "<tr><td>" << esc(m.name) << "</td><td>" << esc(value_text(m, m.old_value))
          << "</td><td>" << esc(value_text(m, m.new_value)) << "</td><td class=\""
          << (m.significant ? "sig" : "ns") << "\">" << esc(change_text(m)) << "</td><td>"
          << esc(interval_text(m)) << "</td><td>" << (m.decided_by.empty() ? "" : p_text(m.p))
          << "</td><td title=\"" << esc(m.method) << "\">" << esc(m.decided_by) << "</td></tr>";
    out << "</table><p class=\"spec\">~: not significant at α = " << c.alpha
        << ". P(a new latency &gt; a base latency) = " << p.distribution.prob_b_greater
        << " (0.5: no shift; Mann-Whitney U p " << p_text(p.distribution.p) << ").</p>";
    for (const auto& n : p.notes) out << "<p><strong>Note:</strong> " << esc(n) << ".</p>";
    out << "<div class=\"charts\">";
    for (Chart& ch : comparison_charts(p.old_pooled, p.new_pooled)) {
      ch.id += "-" + std::to_string(index);  // one page can hold several profiles
      out << render_svg(ch);
    }
    out << "</div><p class=\"spec\">Percentiles: every run of a side pooled. Per second: the "
           "first run of each side.</p></section>";
  }
  out << "<section><strong>" << esc(verdict_line(c))
      << "</strong></section></main></body></html>\n";
}

}  // namespace sockspec::reports::compare
